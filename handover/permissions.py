"""Who may do what, as data: each action maps to grants; anything not granted is denied.

Every dashboard route and every live-channel message names one `Action`; the same table decides single
reads and filters lists, so a ticket a counsellor cannot open never shows in their queue either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from handover.queue_rules import OPEN_STATUSES, TicketStatus


class Role(StrEnum):
    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"


class Action(StrEnum):
    PUBLIC = "public"  # the login page itself: no account needed
    SIGNED_IN = "signed_in"  # the queue, one's own account, logging out
    VIEW_TICKET = "view_ticket"
    CLAIM = "claim"
    RELEASE = "release"
    TRANSFER = "transfer"
    REPLY = "reply"
    NOTE = "note"
    ASK_REVIEW = "ask_review"
    CLOSE = "close"
    REOPEN = "reopen"
    VIEW_AUDIT = "view_audit"
    VIEW_STATS = "view_stats"
    EDIT_CANNED = "edit_canned"


class Holder(StrEnum):
    ANY = "any"
    SELF = "self"  # the actor holds the ticket
    OFFERED = "offered"  # nobody holds it and it is not handed to a named colleague
    TARGET = "target"  # handed to the actor by name (a deliberate choice: the language check does not apply)


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    role: Role
    languages: frozenset[str]


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What permissions may look at of a ticket: never its text."""

    status: str
    locale: str
    holder_id: int | None = None
    transfer_to: int | None = None
    transfer_locale: str | None = None

    @property
    def language(self) -> str:
        return self.transfer_locale or self.locale


@dataclass(frozen=True, slots=True)
class Grant:
    roles: frozenset[Role]
    states: frozenset[str] | None = None  # None: the action takes no ticket
    holder: Holder = Holder.ANY
    language: bool = False  # the ticket's (or transfer's) language must be one the actor speaks

    def holds(self, actor: Actor, ticket: TicketFacts | None) -> bool:
        if actor.role not in self.roles:
            return False
        if self.states is None:
            return True
        if ticket is None or ticket.status not in self.states:
            return False
        if self.holder is Holder.SELF and ticket.holder_id != actor.id:
            return False
        if self.holder is Holder.OFFERED and (ticket.holder_id is not None or ticket.transfer_to is not None):
            return False
        if self.holder is Holder.TARGET and (ticket.holder_id is not None or ticket.transfer_to != actor.id):
            return False
        return not (self.language and ticket.language not in actor.languages)


BOTH = frozenset({Role.COUNSELLOR, Role.SUPERVISOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})
COUNSELLOR = frozenset({Role.COUNSELLOR})
_OFFERED = frozenset({TicketStatus.WAITING, TicketStatus.TRANSFERRED})
_CLAIMED = frozenset({TicketStatus.CLAIMED})
_OPEN = frozenset(OPEN_STATUSES)
_ALL = frozenset(TicketStatus)

#: the whole policy. A counsellor sees what waits in their languages and what they hold; after a transfer
#: or close the former holder sees nothing of it. Supervisors see everything and decide escalations.
POLICY: dict[Action, tuple[Grant, ...]] = {
    Action.PUBLIC: (Grant(BOTH),),
    Action.SIGNED_IN: (Grant(BOTH),),
    Action.VIEW_TICKET: (
        Grant(COUNSELLOR, _OFFERED, Holder.OFFERED, language=True),
        Grant(COUNSELLOR, frozenset({TicketStatus.TRANSFERRED}), Holder.TARGET),
        Grant(COUNSELLOR, _CLAIMED, Holder.SELF),
        Grant(SUPERVISOR, _ALL),
    ),
    Action.CLAIM: (
        Grant(COUNSELLOR, _OFFERED, Holder.OFFERED, language=True),
        Grant(COUNSELLOR, frozenset({TicketStatus.TRANSFERRED}), Holder.TARGET),
        Grant(SUPERVISOR, _OFFERED),
    ),
    Action.RELEASE: (Grant(BOTH, _CLAIMED, Holder.SELF),),
    Action.TRANSFER: (Grant(BOTH, _CLAIMED, Holder.SELF),),
    Action.REPLY: (Grant(BOTH, _CLAIMED, Holder.SELF),),
    Action.NOTE: (Grant(COUNSELLOR, _CLAIMED, Holder.SELF), Grant(SUPERVISOR, _ALL)),
    Action.ASK_REVIEW: (Grant(BOTH, _CLAIMED, Holder.SELF),),
    Action.CLOSE: (Grant(COUNSELLOR, _CLAIMED, Holder.SELF), Grant(SUPERVISOR, _OPEN)),
    Action.REOPEN: (Grant(SUPERVISOR, frozenset({TicketStatus.CLOSED})),),
    Action.VIEW_AUDIT: (Grant(SUPERVISOR),),
    Action.VIEW_STATS: (Grant(SUPERVISOR),),
    Action.EDIT_CANNED: (Grant(SUPERVISOR),),
}

#: actions that act on one ticket (a route declaring one must name the ticket)
TICKET_ACTIONS = frozenset(a for a, grants in POLICY.items() if any(g.states is not None for g in grants))


def allowed(action: Action, actor: Actor, ticket: TicketFacts | None = None) -> bool:
    """Deny by default: only a grant of this action that holds for this actor and ticket allows it."""
    return any(g.holds(actor, ticket) for g in POLICY.get(action, ()))


T = TypeVar("T")


def visible(actor: Actor, items: Iterable[tuple[TicketFacts, T]]) -> list[T]:
    """The same rule as a single read, applied to a list."""
    return [item for facts, item in items if allowed(Action.VIEW_TICKET, actor, facts)]


def lost_claim(actor: Actor, ticket: TicketFacts) -> bool:
    """A claim refused because a colleague took the ticket a moment earlier, in a language the actor speaks:
    the counsellor saw it waiting and deserves "someone was quicker", not "not allowed"."""
    return (ticket.status == TicketStatus.CLAIMED and ticket.holder_id not in (None, actor.id)
            and ticket.language in actor.languages)
