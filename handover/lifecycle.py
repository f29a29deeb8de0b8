"""A ticket's life: which change may follow which, what closing needs, and when a reopen is still allowed.

waiting → claimed → (transferred → claimed …) → closed, or withdrawn by the person at any open moment.
A closed ticket may be reopened within seven days; a withdrawn one never (the person took back their yes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from content.i18n import N_
from handover.queue_rules import OPEN_STATUSES, TicketStatus

REOPEN_WITHIN = dt.timedelta(days=7)


class LifecycleError(ValueError):
    """A change the ticket's state does not allow (e.g. claiming a closed ticket); shown to the counsellor."""


class Outcome(StrEnum):
    """Why a ticket was closed; the statistics count these and nothing more."""

    ADVICE = "advice"
    REFERRED_LOCAL = "referred_local"  # with which service, in the detail
    REFERRED_EMERGENCY = "referred_emergency"
    AUTHORITIES = "authorities"  # a supervisor's decision, with a written reason
    NO_REPLY = "no_reply"
    OTHER = "other"


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ADVICE: N_("Advice given"),
    Outcome.REFERRED_LOCAL: N_("Referred to a local service"),
    Outcome.REFERRED_EMERGENCY: N_("Referred to the emergency services"),
    Outcome.AUTHORITIES: N_("Authorities informed (supervisor decision)"),
    Outcome.NO_REPLY: N_("No reply from the person"),
    Outcome.OTHER: N_("Other"),
}
#: outcomes that need a written detail: which service, what reason
NEEDS_DETAIL = frozenset({Outcome.REFERRED_LOCAL, Outcome.AUTHORITIES, Outcome.OTHER})


class Change(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    TRANSFER = "transfer"
    CLOSE = "close"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"


#: change → (states it may start from, state it leads to)
CHANGES: dict[Change, tuple[frozenset[TicketStatus], TicketStatus]] = {
    Change.CLAIM: (frozenset({TicketStatus.WAITING, TicketStatus.TRANSFERRED}), TicketStatus.CLAIMED),
    Change.RELEASE: (frozenset({TicketStatus.CLAIMED}), TicketStatus.WAITING),
    Change.TRANSFER: (frozenset({TicketStatus.CLAIMED}), TicketStatus.TRANSFERRED),
    Change.CLOSE: (frozenset(OPEN_STATUSES), TicketStatus.CLOSED),
    Change.REOPEN: (frozenset({TicketStatus.CLOSED}), TicketStatus.WAITING),
    Change.WITHDRAW: (frozenset(OPEN_STATUSES), TicketStatus.WITHDRAWN),
}


def next_status(change: Change, current: str) -> TicketStatus:
    """The state after `change`, or LifecycleError when the current state does not allow it."""
    sources, dest = CHANGES[change]
    if current not in sources:
        raise LifecycleError(f"cannot {change.value} a ticket that is {current}")
    return dest


def sources_of(change: Change) -> frozenset[TicketStatus]:
    """The states a conditional UPDATE may find the row in for `change` to win."""
    return CHANGES[change][0]


def can_reopen(status: str, closed_at: dt.datetime | None, now: dt.datetime) -> bool:
    return status == TicketStatus.CLOSED and closed_at is not None and now - closed_at <= REOPEN_WITHIN


@dataclass(frozen=True, slots=True)
class Closing:
    """A counsellor's close: the outcome and, where it needs one, the written detail or reason."""

    outcome: Outcome
    detail: str = ""


def check_closing(closing: Closing, *, by_supervisor: bool) -> None:
    """Escalation is a supervisor's decision: "authorities informed" needs a supervisor and a reason."""
    if closing.outcome is Outcome.AUTHORITIES and not by_supervisor:
        raise LifecycleError("only a supervisor can record that the authorities were informed")
    if closing.outcome in NEEDS_DETAIL and not closing.detail.strip():
        raise LifecycleError(f"the outcome {closing.outcome.value} needs a written detail")
    if len(closing.detail) > 2000:
        raise LifecycleError("the detail is longer than 2000 characters")
