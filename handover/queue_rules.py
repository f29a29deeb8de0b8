"""Queue rules that hold whatever stores the queue: ticket states, ordering and waiting-time targets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset({TicketStatus.WAITING, TicketStatus.CLAIMED, TicketStatus.TRANSFERRED})
#: the levels from the most to the least pressing, as triage names them
LEVEL_ORDER: tuple[str, ...] = ("urgent", "serious", "concern", "info")


class ConsentMissing(RuntimeError):
    """A ticket was about to be created without consent to the current text: a program error."""


class WaitColour(StrEnum):
    """How a waiting time compares with its level's target: the colour of the queue row."""

    OK = "ok"
    AMBER = "amber"  # more than half the target is gone
    RED = "red"  # the target is missed


#: default targets for the first answer, per level (settings may override them)
DEFAULT_TARGETS: Mapping[str, dt.timedelta] = {
    "urgent": dt.timedelta(minutes=5),
    "serious": dt.timedelta(minutes=30),
    "concern": dt.timedelta(hours=4),
    "info": dt.timedelta(hours=24),
}


def parse_targets(spec: str) -> dict[str, dt.timedelta]:
    """'urgent=5m,serious=30m,concern=4h,info=24h' into targets; unknown levels or units are refused."""
    targets = dict(DEFAULT_TARGETS)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        level, _, amount = part.partition("=")
        level, amount = level.strip(), amount.strip()
        if level not in LEVEL_ORDER or len(amount) < 2 or not amount[:-1].isdigit() or amount[-1] not in "mh":
            raise ValueError(f"cannot read the target {part!r}; write e.g. 'urgent=5m' or 'info=24h'")
        n = int(amount[:-1])
        targets[level] = dt.timedelta(minutes=n) if amount[-1] == "m" else dt.timedelta(hours=n)
    return targets


def wait_colour(level: str, waited: dt.timedelta, targets: Mapping[str, dt.timedelta] = DEFAULT_TARGETS) -> WaitColour:
    target = targets.get(level, DEFAULT_TARGETS["info"])
    if waited >= target:
        return WaitColour.RED
    if waited * 2 >= target:
        return WaitColour.AMBER
    return WaitColour.OK


class Queued(Protocol):
    @property
    def priority(self) -> int: ...
    @property
    def created_at(self) -> dt.datetime: ...


Q = TypeVar("Q", bound=Queued)


def queue_order(tickets: Iterable[Q]) -> list[Q]:
    """Urgent first, then the longest waiting: the order a counsellor should take them in."""
    return sorted(tickets, key=lambda x: (-x.priority, x.created_at))


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the queue as the rules see it; the dashboard renders it."""

    ticket_id: int
    level: str
    waited: dt.timedelta
    colour: WaitColour
