"""Storage operations for one unit of work; every method runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.storage.models import (
    ConsentRecord,
    ConversationSession,
    InboundSeen,
    MessageTrail,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    utcnow,
)
from handover.consent import CONSENT_VERSION
from handover.queue_rules import OPEN_STATUSES, ConsentMissing, TicketStatus

_TRAIL_INSERT = insert(SQLModel.metadata.tables[MessageTrail.__tablename__])


@dataclass(frozen=True, slots=True)
class NewTicket:
    level: str
    priority: int
    reasons: tuple[str, ...]
    locale: str
    role: str
    region: str | None
    goal: str
    summary: bytes
    story: bytes | None


class Repository:
    """Thin, explicit SQL; the dialect only matters for upserts and row locks."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    def _insert(self, table: type) -> sqlite.Insert | postgresql.Insert:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # --------------------------------------------------------------------- inbound and sessions
    async def first_delivery(self, channel: str, key: str, session_id: str) -> bool:
        """Remember an update id; False when it was handled before (a re-delivery)."""
        stmt = self._insert(InboundSeen).values(
            channel=channel, key=key, session_id=session_id, created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["channel", "key"])
        result = await self.s.execute(stmt)
        return bool(cast(CursorResult[Any], result).rowcount)

    async def lock_session(self, session_id: str) -> ConversationSession | None:
        stmt = select(ConversationSession).where(col(ConversationSession.id) == session_id)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.s.execute(stmt)).scalars().first()

    async def save_session(self, row: ConversationSession) -> None:
        row.updated_at = utcnow()
        self.s.add(row)

    async def forget(self, session_id: str) -> None:
        """Erase every row that holds anything of this session."""
        tickets = select(col(Ticket.id)).where(col(Ticket.session_id) == session_id)
        await self.s.execute(delete(TicketMessage).where(col(TicketMessage.ticket_id).in_(tickets)))
        await self.s.execute(delete(TicketEvent).where(col(TicketEvent.ticket_id).in_(tickets)))
        await self.s.execute(delete(Ticket).where(col(Ticket.session_id) == session_id))
        await self.s.execute(delete(ConsentRecord).where(col(ConsentRecord.session_id) == session_id))
        await self.s.execute(delete(OutboxMessage).where(col(OutboxMessage.session_id) == session_id))
        await self.s.execute(delete(InboundSeen).where(col(InboundSeen.session_id) == session_id))
        await self.s.execute(delete(MessageTrail).where(col(MessageTrail.session_id) == session_id))
        await self.s.execute(delete(ConversationSession).where(col(ConversationSession.id) == session_id))

    # --------------------------------------------------------------------- message trail
    async def add_trail(self, session_id: str, message_ids: Iterable[int]) -> None:
        """Remember the ids of messages shown in this session's chat (a channel's own numbering)."""
        now = utcnow()
        rows = [{"session_id": session_id, "message_id": m, "created_at": now} for m in message_ids]
        if rows:  # a Core insert on the table: the ORM's bulk path costs milliseconds for a row or two
            await self.s.execute(_TRAIL_INSERT, rows)

    async def trail_of(self, session_id: str) -> list[MessageTrail]:
        stmt = select(MessageTrail).where(col(MessageTrail.session_id) == session_id).order_by(col(MessageTrail.id))
        return list((await self.s.execute(stmt)).scalars())

    # --------------------------------------------------------------------- outbox
    async def add_outbox(self, session_id: str, channel: str, payload: bytes) -> int:
        row = OutboxMessage(session_id=session_id, channel=channel, payload=payload)
        self.s.add(row)
        await self.s.flush()
        assert row.id is not None
        return row.id

    async def pending_outbox(self, session_id: str) -> list[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(col(OutboxMessage.session_id) == session_id, col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.id))
        )
        return list((await self.s.execute(stmt)).scalars())

    async def delete_outbox(self, ids: list[int]) -> None:
        if ids:
            await self.s.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))

    # --------------------------------------------------------------------- consent and tickets
    async def record_consent(self, session_id: str, version: str, locale: str, shares_story: bool) -> int:
        row = ConsentRecord(session_id=session_id, consent_version=version, locale=locale, shares_story=shares_story)
        self.s.add(row)
        await self.s.flush()
        assert row.id is not None
        return row.id

    async def open_ticket(self, session_id: str, t: NewTicket) -> Ticket:
        """Create a ticket on the latest live consent of this session to the current text, or refuse."""
        stmt = (
            select(ConsentRecord)
            .where(
                col(ConsentRecord.session_id) == session_id,
                col(ConsentRecord.consent_version) == CONSENT_VERSION,
                col(ConsentRecord.withdrawn_at).is_(None),
            )
            .order_by(col(ConsentRecord.id).desc())
        )
        consent = (await self.s.execute(stmt)).scalars().first()
        if consent is None:
            raise ConsentMissing(f"no consent to {CONSENT_VERSION} for this session")
        await self.withdraw_open(session_id, actor="system:new-request")
        ticket = Ticket(
            session_id=session_id, consent_id=consent.id or 0, status=TicketStatus.WAITING, level=t.level,
            priority=t.priority, reasons=",".join(t.reasons), locale=t.locale, role=t.role, region=t.region,
            goal=t.goal, summary=t.summary, story=t.story,
        )
        self.s.add(ticket)
        await self.s.flush()
        assert ticket.id is not None
        self.s.add(TicketEvent(ticket_id=ticket.id, actor="person", action="created"))
        return ticket

    async def open_ticket_of(self, session_id: str) -> Ticket | None:
        stmt = (
            select(Ticket)
            .where(col(Ticket.session_id) == session_id, col(Ticket.status).in_(list(OPEN_STATUSES)))
            .order_by(col(Ticket.id).desc())
        )
        return (await self.s.execute(stmt)).scalars().first()

    async def withdraw_open(self, session_id: str, actor: str = "person") -> int:
        ticket = await self.open_ticket_of(session_id)
        if ticket is None:
            return 0
        now = utcnow()
        ticket.status = TicketStatus.WITHDRAWN
        ticket.updated_at = ticket.closed_at = now
        self.s.add(ticket)
        self.s.add(TicketEvent(ticket_id=ticket.id or 0, actor=actor, action="withdrawn"))
        await self.s.execute(
            update(ConsentRecord)
            .where(col(ConsentRecord.id) == ticket.consent_id, col(ConsentRecord.withdrawn_at).is_(None))
            .values(withdrawn_at=now)
        )
        return 1

    async def add_ticket_message(self, ticket_id: int, sender: str, body: bytes) -> None:
        self.s.add(TicketMessage(ticket_id=ticket_id, sender=sender, body=body))

    async def queue_position(self, ticket: Ticket) -> int:
        """1 + the waiting tickets a counsellor will take before this one."""
        stmt = select(func.count()).select_from(Ticket).where(
            col(Ticket.status) == TicketStatus.WAITING,
            col(Ticket.id) != ticket.id,
            or_(
                col(Ticket.priority) > ticket.priority,
                (col(Ticket.priority) == ticket.priority) & (col(Ticket.created_at) <= ticket.created_at),
            ),
        )
        return 1 + int((await self.s.execute(stmt)).scalar_one())


