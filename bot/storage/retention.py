"""Keep nothing longer than needed: idle sessions, closed tickets and dedupe keys expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.request_limit import purge_marks
from bot.storage import audit, data_keys
from bot.storage.accounts import ABSOLUTE_TIMEOUT, Accounts
from bot.storage.models import (
    ConsentRecord,
    ConversationSession,
    DashboardSession,
    InboundSeen,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketNote,
)
from bot.storage.repository import Repository
from bot.storage.store import Store
from handover.consent import RETENTION_DAYS
from handover.queue_rules import OPEN_STATUSES

#: who erases an idle session in the audit log: the purge, not the person
RETENTION_ACTOR = "system:retention"


@dataclass(frozen=True, slots=True)
class Retention:
    """How long things stay. Closed tickets: never longer than the consent text promises."""

    idle_session_days: int = 7
    closed_ticket_days: int = RETENTION_DAYS
    open_request_days: int = 30
    audit_days: int = 365
    seen_update_days: int = 2
    unsent_outbox_days: int = 2

    @classmethod
    def parse(
        cls, idle_sessions: object = None, closed_tickets: object = None, open_requests: object = None,
        audit_entries: object = None,
    ) -> tuple[Retention, list[str]]:
        """Settings as given; a broken or out-of-range value purges on the default, never keeps forever."""
        warnings: list[str] = []
        default = cls()

        def days(name: str, value: object, fallback: int, ceiling: int, floor: int = 1) -> int:
            if value is None or (isinstance(value, str) and not value.strip()):
                return fallback
            try:
                number = int(str(value).strip())
            except ValueError:
                number = 0
            if floor <= number <= ceiling:
                return number
            warnings.append(
                f"BAKEN_RETENTION_{name.upper()}_DAYS={value!r} is not a number of days from {floor} to {ceiling}: "
                f"purging after {fallback} days instead"
            )
            return fallback

        policy = cls(
            idle_session_days=days("idle_session", idle_sessions, default.idle_session_days, 30),
            closed_ticket_days=days("closed_ticket", closed_tickets, default.closed_ticket_days, RETENTION_DAYS),
            open_request_days=days("open_request", open_requests, default.open_request_days, 90),
            audit_days=days("audit", audit_entries, default.audit_days, 3650, floor=30),
        )
        return policy, warnings


DEFAULT_RETENTION = Retention()


async def purge(store: Store, now: dt.datetime, policy: Retention | None = None) -> dict[str, int]:
    """Delete what has expired, in one transaction; returns counts (no contents) for the log."""
    rules = policy or DEFAULT_RETENTION
    counts = await store.run(lambda s: _purge(s, now, rules))
    if any(counts.values()):
        await store.after_erasure()
    return counts


def _erase_tickets(s: Session, ids: list[int | None]) -> None:
    """The tickets' keys go first, in the same transaction: every copy of their texts becomes unreadable."""
    data_keys.erase(s, [data_keys.ticket_key_id(i) for i in ids if i is not None])
    s.execute(delete(TicketMessage).where(col(TicketMessage.ticket_id).in_(ids)))
    s.execute(delete(TicketNote).where(col(TicketNote.ticket_id).in_(ids)))
    s.execute(delete(TicketEvent).where(col(TicketEvent.ticket_id).in_(ids)))
    consents = list(s.execute(select(col(Ticket.consent_id)).where(col(Ticket.id).in_(ids))).scalars())
    s.execute(delete(Ticket).where(col(Ticket.id).in_(ids)))
    s.execute(delete(ConsentRecord).where(col(ConsentRecord.id).in_(consents)))


def _purge(s: Session, now: dt.datetime, policy: Retention) -> dict[str, int]:
    counts = {"sessions": 0, "tickets": 0, "requests": 0}
    closed_before = now - dt.timedelta(days=policy.closed_ticket_days)
    expired = select(col(Ticket.id)).where(
        col(Ticket.status).not_in(list(OPEN_STATUSES)), col(Ticket.closed_at) < closed_before
    )
    ids = list(s.execute(expired).scalars())
    if ids:
        _erase_tickets(s, ids)
        counts["tickets"] = len(ids)
    # a request nobody answered, or nobody touched, for the whole period is not kept forever either
    stale_before = now - dt.timedelta(days=policy.open_request_days)
    recent_talk = select(col(TicketMessage.id)).where(
        col(TicketMessage.ticket_id) == col(Ticket.id), col(TicketMessage.created_at) >= stale_before
    )
    stale = select(col(Ticket.id)).where(
        col(Ticket.status).in_(list(OPEN_STATUSES)), col(Ticket.updated_at) < stale_before, ~recent_talk.exists()
    )
    ids = list(s.execute(stale).scalars())
    if ids:
        _erase_tickets(s, ids)
        counts["requests"] = len(ids)
    idle_before = now - dt.timedelta(days=policy.idle_session_days)
    open_sessions = select(col(Ticket.session_id)).where(col(Ticket.status).in_(list(OPEN_STATUSES)))
    idle = select(col(ConversationSession.id)).where(
        col(ConversationSession.updated_at) < idle_before, col(ConversationSession.id).not_in(open_sessions)
    )
    repo = Repository(s)
    for sid in list(s.execute(idle).scalars()):
        repo.forget(sid, actor=RETENTION_ACTOR)
        counts["sessions"] += 1
    s.execute(
        delete(InboundSeen).where(col(InboundSeen.created_at) < now - dt.timedelta(days=policy.seen_update_days))
    )
    s.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.created_at) < now - dt.timedelta(days=policy.unsent_outbox_days)
        )
    )
    purge_marks(s, now)  # request marks count for 48 hours only
    audit.purge(s, now - dt.timedelta(days=policy.audit_days))
    # sign-in bookkeeping: failures count for 30 minutes, a dashboard session lives 12 hours at most
    Accounts(s).purge_failures(now)
    s.execute(delete(DashboardSession).where(col(DashboardSession.created_at) < now - ABSOLUTE_TIMEOUT))
    return counts
