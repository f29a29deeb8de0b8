"""The supervisors' report counts every ticket on its Belgian day, at any hour."""

from __future__ import annotations

import datetime as dt

from handover.statistics import StatRow, build_report

UTC = dt.UTC


def row(at: dt.datetime, level: str = "serious", answered_after: dt.timedelta | None = None) -> StatRow:
    first = at + answered_after if answered_after is not None else None
    return StatRow(at, level, "nl", first, None, None)


def test_a_ticket_made_after_midnight_in_brussels_but_before_midnight_utc_is_counted_today() -> None:
    now = dt.datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 00:30 on 27 November in Brussels
    made = dt.datetime(2026, 11, 26, 23, 10, tzinfo=UTC)
    report = build_report([row(made, answered_after=dt.timedelta(minutes=5))], now=now, days=7)
    assert report.days[-1] == dt.date(2026, 11, 27)
    assert report.total == 1
    assert report.by_level[dt.date(2026, 11, 27)]["serious"] == 1
    serious = next(f for f in report.first_answers if f.level == "serious")
    assert (serious.tickets, serious.answered, serious.median_minutes) == (1, 1, 5.0)


def test_summer_time_moves_the_day_boundary_by_an_hour() -> None:
    now = dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    late = dt.datetime(2026, 6, 30, 22, 30, tzinfo=UTC)  # 00:30 on 1 July in Brussels (UTC+2)
    early = dt.datetime(2026, 6, 30, 21, 30, tzinfo=UTC)  # 23:30 on 30 June
    report = build_report([row(late), row(early, level="concern")], now=now, days=2)
    assert report.by_level[dt.date(2026, 7, 1)] == {"serious": 1}
    assert report.by_level[dt.date(2026, 6, 30)] == {"concern": 1}


def test_rows_older_than_the_span_are_left_out() -> None:
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    report = build_report([row(now - dt.timedelta(days=40)), row(now)], now=now, days=30)
    assert report.total == 1
