"""Queue rules that hold whatever stores the queue: priorities and ticket states."""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset({TicketStatus.WAITING, TicketStatus.CLAIMED, TicketStatus.TRANSFERRED})


class ConsentMissing(RuntimeError):
    """A ticket was about to be created without consent to the current text: a program error."""
