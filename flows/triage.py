"""Triage as a readable table: answers in, a level and the answers that set it out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from content.yaml_loader import load_yaml

RULES_PATH = Path(__file__).with_name("triage_rules.yaml")
LEVELS: tuple[str, ...] = ("info", "concern", "serious", "urgent")


@dataclass(frozen=True, slots=True)
class Answers:
    """What triage may look at: the person's choices, never their free text."""

    reason: str | None = None
    observed: frozenset[str] = frozenset()
    departure: str | None = None
    danger: str | None = None
    age: str | None = None
    screened: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    says: str
    level: str
    topics: tuple[str, ...] = ()
    reason_in: frozenset[str] | None = None
    departure_in: frozenset[str] | None = None
    danger_in: frozenset[str] | None = None
    any_observed: frozenset[str] | None = None
    age_in: frozenset[str] | None = None
    screened_in: frozenset[str] | None = None
    count_of: frozenset[str] | None = None
    count_at_least: int = 0

    def holds(self, a: Answers) -> bool:
        if self.reason_in is not None and a.reason not in self.reason_in:
            return False
        if self.departure_in is not None and a.departure not in self.departure_in:
            return False
        if self.danger_in is not None and a.danger not in self.danger_in:
            return False
        if self.any_observed is not None and not (a.observed & self.any_observed):
            return False
        if self.age_in is not None and a.age not in self.age_in:
            return False
        if self.screened_in is not None and not (a.screened & self.screened_in):
            return False
        return not (self.count_of is not None and len(a.observed & self.count_of) < self.count_at_least)

    def evidence(self, a: Answers) -> list[str]:
        """The answer ids that made this rule hold, for the ticket's reasons."""
        out: list[str] = []
        if self.danger_in is not None and a.danger:
            out.append(f"danger:{a.danger}")
        if self.departure_in is not None and a.departure:
            out.append(f"departure:{a.departure}")
        if self.screened_in is not None:
            out.extend(f"screen:{s}" for s in sorted(a.screened & self.screened_in))
        for group in (self.any_observed, self.count_of):
            if group is not None:
                out.extend(f"observed:{o}" for o in sorted(a.observed & group))
        if self.reason_in is not None and a.reason and not out:
            out.append(f"reason:{a.reason}")
        return out


@dataclass(frozen=True, slots=True)
class Assessment:
    level: str
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    topics: tuple[str, ...] = field(default=())

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level)


@dataclass(frozen=True, slots=True)
class TriageTable:
    rules: tuple[Rule, ...]
    priority: Mapping[str, int]

    def assess(self, a: Answers) -> Assessment:
        level = "info"
        fired: list[str] = []
        reasons: list[str] = []
        topics: list[str] = []
        for rule in self.rules:
            if not rule.holds(a):
                continue
            fired.append(rule.id)
            if LEVELS.index(rule.level) > LEVELS.index(level):
                level = rule.level
            for r in rule.evidence(a):
                if r not in reasons:
                    reasons.append(r)
            topics.extend(topic for topic in rule.topics if topic not in topics)
        return Assessment(level, tuple(fired), tuple(reasons), tuple(topics))



def _set(raw: Mapping[str, object], key: str) -> frozenset[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"triage rule {raw.get('id')}: {key} must be a list")
    return frozenset(str(v) for v in value)


def parse_rules(doc: Mapping[str, object]) -> TriageTable:
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        raise ValueError("triage rules: 'rules' must be a list")
    rules: list[Rule] = []
    for raw in raw_rules:
        level = str(raw["level"])
        if level not in LEVELS:
            raise ValueError(f"triage rule {raw.get('id')}: unknown level {level!r}")
        count = raw.get("count_observed") or {}
        rules.append(
            Rule(
                id=str(raw["id"]),
                says=str(raw.get("says", "")),
                level=level,
                topics=tuple(str(topic) for topic in raw.get("topics", [])),
                reason_in=_set(raw, "reason_in"),
                departure_in=_set(raw, "departure_in"),
                danger_in=_set(raw, "danger_in"),
                any_observed=_set(raw, "any_observed"),
                age_in=_set(raw, "age_in"),
                screened_in=_set(raw, "screened_in"),
                count_of=frozenset(count["of"]) if count else None,
                count_at_least=int(count.get("at_least", 0)) if count else 0,
            )
        )
    priority = doc.get("priority")
    if not isinstance(priority, dict) or set(priority) != set(LEVELS):
        raise ValueError("triage rules: 'priority' must give a number for every level")
    return TriageTable(tuple(rules), {k: int(v) for k, v in priority.items()})


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> TriageTable:
    with path.open(encoding="utf-8") as fh:
        return parse_rules(load_yaml(fh))


def answers_from(
    reason: str | None,
    observed: Iterable[str],
    departure: str | None,
    danger: str | None,
    screened: Iterable[str] = (),
    *,
    age: str | None = None,
) -> Answers:
    return Answers(reason, frozenset(observed), departure, danger, age, frozenset(screened))


def describe(rules: Sequence[Rule]) -> str:
    """A plain table of the rules for supervisors (`baken triage table`)."""
    lines = [f"{'rule':26} {'level':8} when"]
    for r in rules:
        lines.append(f"{r.id:26} {r.level:8} {r.says}")
    return "\n".join(lines)
