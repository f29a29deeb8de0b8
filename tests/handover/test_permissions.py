"""Permissions as data: deny by default; lists follow the same rule as single reads."""

from __future__ import annotations

import pytest

from handover.permissions import POLICY, Action, Actor, Role, TicketFacts, allowed, visible
from handover.queue_rules import TicketStatus

ANNA = Actor(1, Role.COUNSELLOR, frozenset({"nl", "fr"}))
BEN = Actor(2, Role.COUNSELLOR, frozenset({"de"}))
SARA = Actor(3, Role.SUPERVISOR, frozenset({"nl"}))

WAITING_NL = TicketFacts(TicketStatus.WAITING, "nl")
WAITING_DE = TicketFacts(TicketStatus.WAITING, "de")
ANNAS = TicketFacts(TicketStatus.CLAIMED, "nl", holder_id=1)
BENS = TicketFacts(TicketStatus.CLAIMED, "de", holder_id=2)
CLOSED = TicketFacts(TicketStatus.CLOSED, "nl")
TO_BEN = TicketFacts(TicketStatus.TRANSFERRED, "nl", transfer_to=2)
TO_GERMAN = TicketFacts(TicketStatus.TRANSFERRED, "nl", transfer_locale="de")


def test_every_action_has_a_policy_entry() -> None:
    assert set(POLICY) == set(Action)


def test_a_counsellor_sees_and_claims_what_waits_in_their_languages_only() -> None:
    assert allowed(Action.VIEW_TICKET, ANNA, WAITING_NL) and allowed(Action.CLAIM, ANNA, WAITING_NL)
    assert not allowed(Action.VIEW_TICKET, ANNA, WAITING_DE)
    assert not allowed(Action.CLAIM, ANNA, WAITING_DE)


def test_only_the_holder_replies_notes_releases_and_closes() -> None:
    for action in (Action.REPLY, Action.NOTE, Action.RELEASE, Action.TRANSFER, Action.CLOSE, Action.VIEW_TICKET):
        assert allowed(action, ANNA, ANNAS), action
        assert not allowed(action, BEN, ANNAS), action
    assert not allowed(Action.CLAIM, BEN, BENS), "a claimed ticket cannot be claimed again"


def test_after_a_transfer_or_close_the_former_holder_reads_nothing() -> None:
    assert not allowed(Action.VIEW_TICKET, ANNA, TO_BEN)
    assert allowed(Action.VIEW_TICKET, BEN, TO_BEN) and allowed(Action.CLAIM, BEN, TO_BEN)
    assert not allowed(Action.VIEW_TICKET, ANNA, TO_GERMAN), "transferred to a language Anna does not speak"
    assert allowed(Action.CLAIM, BEN, TO_GERMAN)
    assert not allowed(Action.VIEW_TICKET, ANNA, CLOSED)
    assert not allowed(Action.NOTE, ANNA, CLOSED)


def test_supervisors_see_everything_reopen_and_read_audit_and_statistics() -> None:
    for facts in (WAITING_DE, BENS, CLOSED, TO_BEN):
        assert allowed(Action.VIEW_TICKET, SARA, facts)
    assert allowed(Action.REOPEN, SARA, CLOSED) and not allowed(Action.REOPEN, ANNA, CLOSED)
    for action in (Action.VIEW_AUDIT, Action.VIEW_STATS, Action.EDIT_CANNED):
        assert allowed(action, SARA) and not allowed(action, ANNA)
    assert not allowed(Action.REPLY, SARA, BENS), "a supervisor reads along but does not speak for the holder"


@pytest.mark.parametrize("action", list(Action))
def test_an_action_without_a_grant_for_the_role_is_denied(action: Action) -> None:
    ghost = Actor(9, "visitor", frozenset({"nl"}))  # type: ignore[arg-type]
    assert not allowed(action, ghost, WAITING_NL)


def test_lists_follow_the_single_read_rule() -> None:
    rows = [(WAITING_NL, "a"), (WAITING_DE, "b"), (ANNAS, "c"), (BENS, "d"), (CLOSED, "e")]
    assert visible(ANNA, rows) == ["a", "c"]
    assert visible(BEN, rows) == ["b", "d"]
    assert visible(SARA, rows) == ["a", "b", "c", "d", "e"]


def test_a_claim_lost_to_a_colleague_is_told_apart_from_a_refusal() -> None:
    from handover.permissions import lost_claim

    assert lost_claim(ANNA, TicketFacts(TicketStatus.CLAIMED, "nl", holder_id=2))
    assert not lost_claim(ANNA, ANNAS), "her own ticket"
    assert not lost_claim(BEN, ANNAS), "a language Ben does not speak: he never saw it waiting"
    assert not lost_claim(ANNA, CLOSED)
