"""The ticket life cycle, closing outcomes and escalation, as plain rules."""

from __future__ import annotations

import datetime as dt

import pytest

from handover.lifecycle import (
    Change,
    Closing,
    LifecycleError,
    Outcome,
    can_reopen,
    check_closing,
    next_status,
)
from handover.queue_rules import TicketStatus

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_a_ticket_goes_waiting_claimed_transferred_claimed_closed() -> None:
    status: str = TicketStatus.WAITING
    for change in (Change.CLAIM, Change.TRANSFER, Change.CLAIM, Change.CLOSE):
        status = next_status(change, status)
    assert status == TicketStatus.CLOSED


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (Change.CLAIM, TicketStatus.CLAIMED),
        (Change.CLAIM, TicketStatus.CLOSED),
        (Change.RELEASE, TicketStatus.WAITING),
        (Change.TRANSFER, TicketStatus.WAITING),
        (Change.CLOSE, TicketStatus.WITHDRAWN),
        (Change.REOPEN, TicketStatus.WITHDRAWN),
        (Change.REOPEN, TicketStatus.CLAIMED),
    ],
)
def test_changes_the_state_does_not_allow_are_refused(change: Change, status: TicketStatus) -> None:
    with pytest.raises(LifecycleError):
        next_status(change, status)


def test_a_released_ticket_waits_again_and_a_reopened_one_too() -> None:
    assert next_status(Change.RELEASE, TicketStatus.CLAIMED) == TicketStatus.WAITING
    assert next_status(Change.REOPEN, TicketStatus.CLOSED) == TicketStatus.WAITING


def test_reopen_only_within_seven_days_of_closing_and_never_a_withdrawn_ticket() -> None:
    assert can_reopen(TicketStatus.CLOSED, NOW - dt.timedelta(days=6, hours=23), NOW)
    assert not can_reopen(TicketStatus.CLOSED, NOW - dt.timedelta(days=7, minutes=1), NOW)
    assert not can_reopen(TicketStatus.WITHDRAWN, NOW - dt.timedelta(hours=1), NOW)


def test_authorities_informed_needs_a_supervisor_and_a_written_reason() -> None:
    with pytest.raises(LifecycleError, match="supervisor"):
        check_closing(Closing(Outcome.AUTHORITIES, "threat to life"), by_supervisor=False)
    with pytest.raises(LifecycleError, match="detail"):
        check_closing(Closing(Outcome.AUTHORITIES, "  "), by_supervisor=True)
    check_closing(Closing(Outcome.AUTHORITIES, "a concrete plan with a date"), by_supervisor=True)


def test_referral_to_a_local_service_names_the_service_and_advice_needs_nothing() -> None:
    with pytest.raises(LifecycleError):
        check_closing(Closing(Outcome.REFERRED_LOCAL), by_supervisor=False)
    check_closing(Closing(Outcome.REFERRED_LOCAL, "CAW Antwerpen"), by_supervisor=False)
    check_closing(Closing(Outcome.ADVICE), by_supervisor=False)
