"""Anonymous statistics for supervisors: counts per day, level and language, first answers against the
targets, outcomes. Input rows carry no text and no pseudonym."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from handover.queue_rules import DEFAULT_TARGETS, LEVEL_ORDER


@dataclass(frozen=True, slots=True)
class StatRow:
    created_at: dt.datetime
    level: str
    locale: str
    first_answer_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class FirstAnswer:
    level: str
    tickets: int
    answered: int
    within_target: int
    median_minutes: float | None
    target_minutes: float


@dataclass(frozen=True, slots=True)
class Report:
    days: list[dt.date]
    by_level: dict[dt.date, Counter[str]]
    by_language: dict[dt.date, Counter[str]]
    first_answers: list[FirstAnswer]
    outcomes: Counter[str]
    total: int


def build_report(rows: Iterable[StatRow], *, now: dt.datetime, days: int = 30, tz: str = "Europe/Brussels",
                 targets: Mapping[str, dt.timedelta] = DEFAULT_TARGETS) -> Report:
    """Days are Belgian days; "today" is taken in the same zone as the rows, or a ticket made between
    midnight in Brussels and midnight UTC would fall on a day past the report's last and go uncounted."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    span = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    by_level: dict[dt.date, Counter[str]] = {d: Counter() for d in span}
    by_language: dict[dt.date, Counter[str]] = {d: Counter() for d in span}
    waits: dict[str, list[float]] = {lv: [] for lv in LEVEL_ORDER}
    counts: Counter[str] = Counter()
    within: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    total = 0
    for r in rows:
        day = r.created_at.astimezone(zone).date()
        if day not in by_level:
            continue
        total += 1
        by_level[day][r.level] += 1
        by_language[day][r.locale] += 1
        counts[r.level] += 1
        if r.first_answer_at is not None:
            minutes = (r.first_answer_at - r.created_at).total_seconds() / 60
            waits.setdefault(r.level, []).append(minutes)
            if r.first_answer_at - r.created_at <= targets.get(r.level, DEFAULT_TARGETS["info"]):
                within[r.level] += 1
        if r.outcome:
            outcomes[r.outcome] += 1
    first = [
        FirstAnswer(lv, counts[lv], len(waits.get(lv, [])), within[lv],
                    statistics.median(waits[lv]) if waits.get(lv) else None,
                    targets.get(lv, DEFAULT_TARGETS["info"]).total_seconds() / 60)
        for lv in LEVEL_ORDER
    ]
    return Report(span, by_level, by_language, first, outcomes, total)


def csv_rows(report: Report, levels: Sequence[str] = LEVEL_ORDER, languages: Sequence[str] = ("nl", "fr", "de", "en"),
             ) -> list[list[str]]:
    """One line per day: the counts per level and per language (for a spreadsheet)."""
    head = ["day", *(f"level_{lv}" for lv in levels), *(f"language_{lang}" for lang in languages)]
    out = [head]
    for day in report.days:
        out.append([day.isoformat(), *(str(report.by_level[day][lv]) for lv in levels),
                    *(str(report.by_language[day][lang]) for lang in languages)])
    return out
