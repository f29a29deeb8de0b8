"""Keep nothing longer than needed: idle sessions, closed tickets and dedupe keys expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

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


@dataclass(frozen=True, slots=True)
class Retention:
    """How long things stay. Tickets: the period promised in the consent text, after closing."""

    idle_session_days: int = 30
    closed_ticket_days: int = RETENTION_DAYS
    seen_update_days: int = 2
    unsent_outbox_days: int = 2


async def purge(store: Store, now: dt.datetime, policy: Retention = Retention()) -> dict[str, int]:
    """Delete what has expired, in one transaction; returns counts (no contents) for the log."""
    return await store.run(lambda s: _purge(s, now, policy))


def _purge(s: Session, now: dt.datetime, policy: Retention) -> dict[str, int]:
    counts = {"sessions": 0, "tickets": 0}
    closed_before = now - dt.timedelta(days=policy.closed_ticket_days)
    expired = select(col(Ticket.id)).where(
        col(Ticket.status).not_in(list(OPEN_STATUSES)), col(Ticket.closed_at) < closed_before
    )
    ids = list((s.execute(expired)).scalars())
    if ids:
        s.execute(delete(TicketMessage).where(col(TicketMessage.ticket_id).in_(ids)))
        s.execute(delete(TicketNote).where(col(TicketNote.ticket_id).in_(ids)))
        s.execute(delete(TicketEvent).where(col(TicketEvent.ticket_id).in_(ids)))
        consent_ids = select(col(Ticket.consent_id)).where(col(Ticket.id).in_(ids))
        consents = list((s.execute(consent_ids)).scalars())
        s.execute(delete(Ticket).where(col(Ticket.id).in_(ids)))
        s.execute(delete(ConsentRecord).where(col(ConsentRecord.id).in_(consents)))
        counts["tickets"] = len(ids)
    idle_before = now - dt.timedelta(days=policy.idle_session_days)
    open_sessions = select(col(Ticket.session_id)).where(col(Ticket.status).in_(list(OPEN_STATUSES)))
    idle = select(col(ConversationSession.id)).where(
        col(ConversationSession.updated_at) < idle_before, col(ConversationSession.id).not_in(open_sessions)
    )
    repo = Repository(s)
    for sid in list((s.execute(idle)).scalars()):
        repo.forget(sid)
        counts["sessions"] += 1
    s.execute(
        delete(InboundSeen).where(col(InboundSeen.created_at) < now - dt.timedelta(days=policy.seen_update_days))
    )
    s.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.created_at) < now - dt.timedelta(days=policy.unsent_outbox_days)
        )
    )
    # sign-in bookkeeping: failures count for 30 minutes, a dashboard session lives 12 hours at most
    Accounts(s).purge_failures(now)
    s.execute(delete(DashboardSession).where(col(DashboardSession.created_at) < now - ABSOLUTE_TIMEOUT))
    return counts
