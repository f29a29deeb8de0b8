"""Storage operations for one unit of work; every method runs inside the caller's transaction.

Plain synchronous SQLAlchemy on purpose: `bot.storage.store.Store` runs a whole unit of work in one
thread hop on SQLite, or through `run_sync` on PostgreSQL (asyncpg).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, CursorResult, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from bot.events import announce_ticket
from bot.storage import audit
from bot.storage.models import (
    AuditEntry,
    ConsentRecord,
    ConversationSession,
    InboundSeen,
    MessageTrail,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketNote,
    TicketStat,
    WebchatCode,
    sqlite_time,
    utcminute,
    utcnow,
)
from handover.consent import CONSENT_VERSION

if TYPE_CHECKING:
    from bot.crypto import Keyring
from handover.queue_rules import OPEN_STATUSES, ConsentMissing, TicketStatus

_TABLES = SQLModel.metadata.tables
_TRAIL_INSERT = insert(_TABLES[MessageTrail.__tablename__])
_SESSIONS = _TABLES[ConversationSession.__tablename__]
_OUTBOX = _TABLES[OutboxMessage.__tablename__]
# The hot path (every inbound message) uses Core statements built once: the ORM's unit of work and
# statement building cost more than SQLite itself for rows this small.
_LOAD_SESSION = select(_SESSIONS.c.state, _SESSIONS.c.data, _SESSIONS.c.address).where(
    _SESSIONS.c.id == bindparam("sid")
)
_LOCK_SESSION = _LOAD_SESSION.with_for_update()  # PostgreSQL; SQLite's transaction began IMMEDIATE
# A new session's row: two first messages racing to create it must not end in a unique-key error. Text for
# the same reason as _FIRST_DELIVERY below (a dialect insert's ON CONFLICT is compiled on every call).
_INSERT_SESSION = text(
    "INSERT INTO sessions (id, channel, state, locale, data, address, created_at, updated_at) "
    "VALUES (:id, :channel, :state, :locale, :data, :address, :created_at, :updated_at) ON CONFLICT (id) DO NOTHING"
).bindparams(
    bindparam("data", type_=_SESSIONS.c.data.type), bindparam("address", type_=_SESSIONS.c.address.type),
    bindparam("created_at", type_=_SESSIONS.c.created_at.type),
    bindparam("updated_at", type_=_SESSIONS.c.updated_at.type),
)
# PostgreSQL: one conversation's steps queue here, across processes, before anything of the step is read
_LOCK_CONVERSATION = text("SELECT pg_advisory_xact_lock(:key)")
_UPDATE_SESSION = update(_SESSIONS).where(_SESSIONS.c.id == bindparam("sid"))
_INSERT_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id)
# one id a step as a rule: a plain "= ?" run per id, not an expanding IN re-rendered on every call
_DELETE_OUTBOX = delete(_OUTBOX).where(_OUTBOX.c.id == bindparam("oid"))
_RECORD_PARTS = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("oid")).values(parts_sent=bindparam("parts"))
# SQLite's hot path (Repository.raw): the same statements as plain SQL for the driver
_FIRST_DELIVERY_SQL = (
    'INSERT INTO inbound_seen (channel, "key", session_id, created_at) '
    'VALUES (:channel, :key, :session_id, :created_at) ON CONFLICT (channel, "key") DO NOTHING'
)
_LOAD_SESSION_SQL = "SELECT state, data, address FROM sessions WHERE id = :sid"
_UPDATE_SESSION_SQL = (
    "UPDATE sessions SET state = :state, locale = :locale, data = :data, updated_at = :updated_at WHERE id = :sid"
)
_UPDATE_SESSION_ADDRESS_SQL = (
    "UPDATE sessions SET state = :state, locale = :locale, data = :data, updated_at = :updated_at, "
    "address = :address WHERE id = :sid"
)
_INSERT_OUTBOX_SQL = (
    "INSERT INTO outbox (session_id, channel, payload, origin, update_key, created_at, sent_at) "
    "VALUES (:session_id, :channel, :payload, 'step', :update_key, :created_at, :sent_at)"
)
_TRAIL_INSERT_SQL = (
    "INSERT INTO message_trail (session_id, message_id, created_at) VALUES (:session_id, :message_id, :created_at)"
)
_SETTLE_ANSWERED_SQL = (
    "DELETE FROM outbox WHERE session_id = :sid AND origin = 'step' AND sent_at IS NOT NULL"
)
_SETTLE_ANSWERED = delete(_OUTBOX).where(
    _OUTBOX.c.session_id == bindparam("sid"), _OUTBOX.c.origin == "step", _OUTBOX.c.sent_at.is_not(None)
)
_SEEN = _TABLES[InboundSeen.__tablename__]
# SQLAlchemy cannot cache a dialect insert's ON CONFLICT clause: built with `on_conflict_do_nothing` it is
# compiled again on every message. The same words mean the same on SQLite and PostgreSQL, and a text
# statement is compiled once.
_FIRST_DELIVERY = text(
    'INSERT INTO inbound_seen (channel, "key", session_id, created_at) '
    'VALUES (:channel, :key, :session_id, :created_at) ON CONFLICT (channel, "key") DO NOTHING'
).bindparams(bindparam("created_at", type_=_SEEN.c.created_at.type))


class Contention(Exception):
    """A concurrent writer got there first (e.g. created the same session): the unit of work runs again."""


def conversation_lock_key(session_id: str) -> int:
    """The advisory lock key of a session: 64 bits of its pseudonym (already a keyed hash), signed for bigint."""
    return int.from_bytes(bytes.fromhex(session_id[:16].ljust(16, "0")), "big", signed=True)


@dataclass(frozen=True, slots=True)
class StoredSession:
    """What one message needs of its session row: still encrypted. `state` is empty since conversation keys
    (the state is sealed with the data); a row written before holds it here until adoption."""

    state: str
    data: bytes
    address: bytes | None


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket as the flow asks for it, in plain text: `open_ticket` seals it with the ticket's own key."""

    level: str
    priority: int
    reasons: tuple[str, ...]
    locale: str
    role: str
    region: str | None
    goal: str
    summary: str
    story: str | None


class Repository:
    """Thin, explicit SQL; the dialect only matters for upserts and row locks."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        self._c: Connection | None = None
        self._raw: sqlite3.Connection | None = None

    @property
    def c(self) -> Connection:
        """The transaction's connection: Core statements on it skip the ORM's per-statement bookkeeping.

        Not a functools.cached_property: on Python 3.11 that holds one lock for every instance while it
        computes, and computing this may wait for SQLite's write lock (BEGIN IMMEDIATE): two stores' writer
        threads then wait for each other until the busy timeout.
        """
        if self._c is None:
            self._c = self.s.connection()
        return self._c

    @property
    def raw(self) -> sqlite3.Connection | None:
        """SQLite only: the driver's own connection, inside this transaction (or savepoint).

        The statements every message runs go through it: SQLAlchemy spends about 50 µs on a statement that
        SQLite runs in 10 to 15. The SQL is plain and the same on both databases; PostgreSQL keeps Core,
        whose statements are built once above (asyncpg's parameter style differs).
        """
        if self._raw is None and self.dialect == "sqlite":
            self._raw = cast("sqlite3.Connection", self.c.connection.driver_connection)
        return self._raw

    # --------------------------------------------------------------------- inbound and sessions
    def first_delivery(self, channel: str, key: str, session_id: str) -> bool:
        """Remember an update id; False when it was handled before (a re-delivery)."""
        now = utcminute()
        params: dict[str, Any] = {"channel": channel, "key": key, "session_id": session_id, "created_at": now}
        if self.raw is not None:
            return bool(self.raw.execute(_FIRST_DELIVERY_SQL, {**params, "created_at": sqlite_time(now)}).rowcount)
        result = self.c.execute(_FIRST_DELIVERY, params)
        return bool(cast(CursorResult[Any], result).rowcount)

    def lock_conversation(self, session_id: str) -> None:
        """Queue behind any other step of this conversation, in any process, until this transaction ends.

        PostgreSQL: an advisory lock on the pseudonym, which exists before the session row does, so a new
        chat's first two messages also take turns. SQLite: the transaction began IMMEDIATE and already holds
        the database's one write lock.
        """
        if self.dialect == "postgresql":
            self.c.execute(_LOCK_CONVERSATION, {"key": conversation_lock_key(session_id)})

    def lock_session(self, session_id: str) -> StoredSession | None:
        """Read the session row, locked until commit (SQLite: the transaction began IMMEDIATE)."""
        if self.raw is not None:
            found = self.raw.execute(_LOAD_SESSION_SQL, {"sid": session_id}).fetchone()
            return StoredSession(found[0], found[1], found[2]) if found is not None else None
        stmt = _LOCK_SESSION if self.dialect == "postgresql" else _LOAD_SESSION
        row = self.c.execute(stmt, {"sid": session_id}).first()
        return StoredSession(row.state, row.data, row.address) if row is not None else None

    def save_session(self, session_id: str, *, channel: str, data: bytes, address: bytes | None, new: bool) -> None:
        """`data` is sealed with the conversation key and holds the state and language too: the plain columns
        stay empty (they held them before conversation keys)."""
        now = utcminute()
        values: dict[str, Any] = {"state": "", "locale": "", "data": data, "updated_at": now}
        if address is not None:
            values["address"] = address
        if new:
            params = {"id": session_id, "channel": channel, "created_at": now, "address": None, **values}
            created = self.c.execute(_INSERT_SESSION, params)
            if not cast(CursorResult[Any], created).rowcount:
                raise Contention("the session was created meanwhile")
        elif self.raw is not None:
            values["updated_at"] = sqlite_time(now)
            sql = _UPDATE_SESSION_ADDRESS_SQL if address is not None else _UPDATE_SESSION_SQL
            self.raw.execute(sql, {"sid": session_id, **values})
        else:
            self.c.execute(_UPDATE_SESSION, {"sid": session_id, **values})

    def seen_marker(self, channel: str, key: str) -> str:
        """What a handled update's row says now: a session id, "" once unlinked, or "erased:<locale>"."""
        stmt = select(col(InboundSeen.session_id)).where(
            col(InboundSeen.channel) == channel, col(InboundSeen.key) == key
        )
        return str(self.s.execute(stmt).scalar_one_or_none() or "")

    def forget(self, session_id: str, erasing: tuple[str, str] | None = None, locale: str = "",
               actor: str = "person") -> None:
        """Erase every row that holds anything of this session (its web chat codes too).

        `actor` says who erased it in the audit log: the person, or "system:retention" for the idle purge.
        Handled update ids stay (unlinked) until they expire, so a re-delivery is still a no-op and cannot
        open a new session; the update that asked for the erasure is marked so that its re-delivery repeats
        the "erased" answer instead of showing the welcome.
        """
        from bot.storage import data_keys

        tickets = select(col(Ticket.id)).where(col(Ticket.session_id) == session_id)
        ticket_ids = list(self.s.execute(tickets).scalars())
        for ticket_id in ticket_ids:
            audit.append(self.s, actor, "erased", ticket_id)  # the erasure is on record; nothing of the person
        # the keys first: whatever of this conversation any copy still holds is unreadable from the commit on
        data_keys.erase(self.s, [data_keys.session_key_id(session_id),
                                 *(data_keys.ticket_key_id(i) for i in ticket_ids if i is not None)])
        # a code to continue elsewhere must not outlive its conversation
        self.s.execute(delete(WebchatCode).where(col(WebchatCode.session_id) == session_id))
        self.s.execute(delete(TicketMessage).where(col(TicketMessage.ticket_id).in_(tickets)))
        self.s.execute(delete(TicketNote).where(col(TicketNote.ticket_id).in_(tickets)))
        self.s.execute(delete(TicketEvent).where(col(TicketEvent.ticket_id).in_(tickets)))
        self.s.execute(delete(Ticket).where(col(Ticket.session_id) == session_id))
        self.s.execute(delete(ConsentRecord).where(col(ConsentRecord.session_id) == session_id))
        self.s.execute(delete(OutboxMessage).where(col(OutboxMessage.session_id) == session_id))
        self.s.execute(
            update(InboundSeen).where(col(InboundSeen.session_id) == session_id).values(session_id="")
        )
        if erasing is not None:
            channel, key = erasing
            self.s.execute(
                update(InboundSeen)
                .where(col(InboundSeen.channel) == channel, col(InboundSeen.key) == key)
                .values(session_id=f"erased:{locale}"[:64])
            )
        self.s.execute(delete(MessageTrail).where(col(MessageTrail.session_id) == session_id))
        self.s.execute(delete(ConversationSession).where(col(ConversationSession.id) == session_id))

    # --------------------------------------------------------------------- message trail
    def add_trail(self, session_id: str, message_ids: Iterable[int]) -> None:
        """Remember the ids of messages shown in this session's chat (a channel's own numbering)."""
        now = utcminute()
        rows = [{"session_id": session_id, "message_id": m, "created_at": now} for m in message_ids]
        if rows and self.raw is not None:
            stamp = sqlite_time(now)
            self.raw.executemany(_TRAIL_INSERT_SQL, [{**r, "created_at": stamp} for r in rows])
        elif rows:  # a Core insert on the table: the ORM's bulk path costs milliseconds for a row or two
            self.c.execute(_TRAIL_INSERT, rows)

    def trail_of(self, session_id: str) -> list[MessageTrail]:
        stmt = select(MessageTrail).where(col(MessageTrail.session_id) == session_id).order_by(col(MessageTrail.id))
        return list((self.s.execute(stmt)).scalars())

    # --------------------------------------------------------------------- outbox
    def add_outbox(self, session_id: str, channel: str, payload: bytes, update_key: str | None = None, *,
                   answered: bool = False) -> int:
        """`answered`: the row goes out in a webhook answer, and stays until the chat's next update settles it."""
        now = utcminute()
        params = {"session_id": session_id, "channel": channel, "payload": payload, "created_at": now,
                  "update_key": update_key, "sent_at": now if answered else None}
        if self.raw is not None:
            stamp = sqlite_time(now)
            params |= {"created_at": stamp, "sent_at": stamp if answered else None}
            return int(self.raw.execute(_INSERT_OUTBOX_SQL, params).lastrowid or 0)
        return int(self.c.execute(_INSERT_OUTBOX, params).scalar_one())

    def replies_of(self, session_id: str, update_key: str) -> list[OutboxMessage]:
        """A re-delivered update's own step replies still kept: unsent, or sent in a webhook answer that
        Telegram may never have read. Rows from before update keys (NULL) count while unsent."""
        stmt = (
            select(OutboxMessage)
            .where(col(OutboxMessage.session_id) == session_id, col(OutboxMessage.origin) == "step",
                   or_(col(OutboxMessage.update_key) == update_key,
                       and_(col(OutboxMessage.update_key).is_(None), col(OutboxMessage.sent_at).is_(None))))
            .order_by(col(OutboxMessage.id))
        )
        return list((self.s.execute(stmt)).scalars())

    def record_parts(self, outbox_id: int, parts: int) -> None:
        """How many of a step's messages went out by request: a re-delivery sends only the rest."""
        self.c.execute(_RECORD_PARTS, {"oid": outbox_id, "parts": parts})

    def settle_answered(self, session_id: str) -> None:
        """A new update of this chat arrived, so Telegram read the answers to the earlier ones: their rows go
        (rows sent by request are deleted once sent; these are the ones written for an answer)."""
        if self.raw is not None:
            self.raw.execute(_SETTLE_ANSWERED_SQL, {"sid": session_id})
        else:
            self.c.execute(_SETTLE_ANSWERED, {"sid": session_id})

    def delete_outbox(self, ids: list[int]) -> None:
        if ids:
            self.c.execute(_DELETE_OUTBOX, [{"oid": i} for i in ids])

    # --------------------------------------------------------------------- consent and tickets
    def record_consent(self, session_id: str, version: str, locale: str, shares_story: bool) -> int:
        row = ConsentRecord(session_id=session_id, consent_version=version, locale=locale, shares_story=shares_story)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id

    def open_ticket(self, session_id: str, new: NewTicket, keys: Keyring) -> Ticket:
        """Create a ticket on the latest live consent of this session to the current text, or refuse.

        Only what the queue sorts and filters on stays plain (level, priority, language, status); the
        reasons, role, region and goal are sealed with the summary and story under the ticket's own key.
        """
        stmt = (
            select(ConsentRecord)
            .where(
                col(ConsentRecord.session_id) == session_id,
                col(ConsentRecord.consent_version) == CONSENT_VERSION,
                col(ConsentRecord.withdrawn_at).is_(None),
            )
            .order_by(col(ConsentRecord.id).desc())
        )
        consent = (self.s.execute(stmt)).scalars().first()
        if consent is None:
            raise ConsentMissing(f"no consent to {CONSENT_VERSION} for this session")
        self.withdraw_open(session_id, actor="system:new-request")
        ticket = Ticket(
            session_id=session_id, consent_id=consent.id or 0, status=TicketStatus.WAITING, level=new.level,
            priority=new.priority, reasons="", locale=new.locale, role="", region=None, goal="", summary=b"",
            story=None,
        )
        if self.s.get_bind().dialect.name == "sqlite":
            ticket.id = self._next_ticket_number()
        self.s.add(ticket)
        self.s.flush()  # the id names the ticket's key
        assert ticket.id is not None
        box = keys.ticket(self.s, ticket.id)
        ticket.summary = box.seal_text(new.summary, f"ticket:{session_id}")
        ticket.story = box.seal_text(new.story, f"ticket:{session_id}") if new.story else None
        from bot.storage.sealed import Profile, seal_profile

        ticket.profile = seal_profile(box, ticket.id, Profile(new.reasons, new.role, new.region, new.goal))
        self.s.add(ticket)
        self.s.add(TicketEvent(ticket_id=ticket.id, actor="person", action="created"))
        # what statistics keep: no text, no pseudonym, and it outlives the ticket's retention
        self.s.add(TicketStat(ticket_id=ticket.id, created_at=ticket.created_at, level=new.level, locale=new.locale))
        announce_ticket(self.s, ticket.id)
        return ticket

    def _next_ticket_number(self) -> int:
        """SQLite gives the id of a deleted last row again, but a ticket's number outlives an erased ticket
        (statistics, the audit log): a number is never given twice. PostgreSQL's sequence never goes back."""
        highest = [self.s.execute(select(func.max(column))).scalar() or 0
                   for column in (col(Ticket.id), col(TicketStat.ticket_id), col(AuditEntry.ticket_id))]
        return int(max(highest)) + 1

    def open_ticket_of(self, session_id: str) -> Ticket | None:
        stmt = (
            select(Ticket)
            .where(col(Ticket.session_id) == session_id, col(Ticket.status).in_(list(OPEN_STATUSES)))
            .order_by(col(Ticket.id).desc())
        )
        return (self.s.execute(stmt)).scalars().first()

    def withdraw_open(self, session_id: str, actor: str = "person") -> int:
        ticket = self.open_ticket_of(session_id)
        if ticket is None:
            return 0
        now, minute = utcnow(), utcminute()
        ticket.status = TicketStatus.WITHDRAWN
        ticket.updated_at, ticket.closed_at = now, minute
        ticket.person_left = actor == "person"
        self.s.execute(update(TicketStat).where(col(TicketStat.ticket_id) == ticket.id)
                       .values(closed_at=minute, outcome="withdrawn"))
        self.s.add(ticket)
        self.s.add(TicketEvent(ticket_id=ticket.id or 0, actor=actor, action="withdrawn"))
        audit.append(self.s, actor, "withdrawn", ticket.id)
        self.s.execute(
            update(ConsentRecord)
            .where(col(ConsentRecord.id) == ticket.consent_id, col(ConsentRecord.withdrawn_at).is_(None))
            .values(withdrawn_at=minute)
        )
        announce_ticket(self.s, ticket.id)
        return 1

    def add_ticket_message(self, ticket_id: int, sender: str, body: bytes) -> None:
        minute = utcminute()
        self.s.add(TicketMessage(ticket_id=ticket_id, sender=sender, body=body, created_at=minute))
        if sender == "person":
            self.s.execute(update(Ticket).where(col(Ticket.id) == ticket_id).values(last_person_at=minute,
                                                                                  updated_at=utcnow()))
        announce_ticket(self.s, ticket_id)

    def queue_position(self, ticket: Ticket) -> int:
        """1 + the waiting tickets a counsellor will take before this one."""
        stmt = select(func.count()).select_from(Ticket).where(
            col(Ticket.status) == TicketStatus.WAITING,
            col(Ticket.id) != ticket.id,
            or_(
                col(Ticket.priority) > ticket.priority,
                (col(Ticket.priority) == ticket.priority) & (col(Ticket.created_at) < ticket.created_at),
                # times are kept to the minute: within one, the earlier ticket has the lower id
                (col(Ticket.priority) == ticket.priority) & (col(Ticket.created_at) == ticket.created_at)
                & (col(Ticket.id) < ticket.id),
            ),
        )
        return 1 + int((self.s.execute(stmt)).scalar_one())


