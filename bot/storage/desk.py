"""The counsellor's desk in SQL: the queue, claims by conditional UPDATE, transfers, notes, closing, the
relayed chat and the statistics rows. Every method runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from bot.events import announce_relay, announce_ticket
from bot.storage.models import (
    CannedReply,
    ConversationSession,
    OutboxMessage,
    SurveyAnswer,
    Ticket,
    TicketMessage,
    TicketNote,
    TicketStat,
    utcminute,
    utcnow,
)
from handover.lifecycle import REOPEN_WITHIN, Change, sources_of
from handover.permissions import TicketFacts
from handover.queue_rules import OPEN_STATUSES, TicketStatus

if TYPE_CHECKING:
    from bot.crypto import Keyring

_TICKETS = SQLModel.metadata.tables[Ticket.__tablename__]
_OPEN = _TICKETS.c.status.in_([s.value for s in OPEN_STATUSES])
# the same test written so that SQLite does not take the status index (then sort ten thousand rows) but walks
# ix_tickets_queue, which is ordered as the queue and holds every column the walk reads
_OPEN_WALK = func.coalesce(_TICKETS.c.status, "").in_([s.value for s in OPEN_STATUSES])
_FACTS = (_TICKETS.c.status, _TICKETS.c.locale, _TICKETS.c.holder_id, _TICKETS.c.transfer_to,
          _TICKETS.c.transfer_locale)
#: the queue in order, as ids and permission facts only: cheap to walk until a page is full
_ORDER = select(_TICKETS.c.id, *_FACTS).where(_OPEN_WALK).order_by(
    _TICKETS.c.priority.desc(), _TICKETS.c.created_at, _TICKETS.c.id)
#: how many open tickets share the same facts: the permission is decided once per group, not per row
_GROUPS = select(*_FACTS, func.count()).where(_OPEN_WALK).group_by(*reversed(_FACTS))  # status last: see above
# a queue row reads only what it shows: no summary, no story, no session
_ROWS = select(
    _TICKETS.c.id, _TICKETS.c.status, _TICKETS.c.level, _TICKETS.c.priority, _TICKETS.c.reasons, _TICKETS.c.locale,
    _TICKETS.c.role, _TICKETS.c.region, _TICKETS.c.created_at, _TICKETS.c.holder_id, _TICKETS.c.transfer_to,
    _TICKETS.c.transfer_locale, _TICKETS.c.review_requested, _TICKETS.c.person_left, _TICKETS.c.first_answer_at,
    _TICKETS.c.last_person_at, _TICKETS.c.profile,
).where(_TICKETS.c.id.in_(bindparam("ids", expanding=True)))
Facts = tuple[str, str, int | None, int | None, str | None]


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: int
    status: str
    level: str
    priority: int
    reasons: tuple[str, ...]
    locale: str
    role: str
    region: str | None
    created_at: dt.datetime
    holder_id: int | None
    transfer_to: int | None
    transfer_locale: str | None
    review_requested: bool
    person_left: bool
    answered: bool
    last_person_at: dt.datetime | None = None  # the person's last message: are they still in the chat?
    #: the sealed reasons, role, region and goal; DeskService opens it (reasons..goal above are then filled)
    profile: bytes | None = None

    @property
    def facts(self) -> TicketFacts:
        return TicketFacts(self.status, self.locale, self.holder_id, self.transfer_to, self.transfer_locale)


def facts_of(ticket: Ticket) -> TicketFacts:
    return TicketFacts(ticket.status, ticket.locale, ticket.holder_id, ticket.transfer_to, ticket.transfer_locale)


class Desk:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ reading
    def queue(self, visible: Callable[[TicketFacts], bool], limit: int) -> tuple[list[QueueItem], int, int]:
        """The first `limit` open tickets `visible` lets through, in queue order (urgent first, then the longest
        waiting), with the number visible and the number open in all.

        `visible` is asked once per distinct set of facts, not per ticket: ten thousand tickets share a few
        dozen (status, language, holder, transfer) combinations.
        """
        from bot.storage.accounts import aware

        conn = self.s.connection()
        decided: dict[Facts, bool] = {}
        shown_count = total = 0
        for status, locale, holder, to, to_locale, n in conn.execute(_GROUPS):
            key: Facts = (status, locale, holder, to, to_locale)
            decided[key] = visible(TicketFacts(*key))
            total += n
            shown_count += n if decided[key] else 0
        ids: list[int] = []
        for row in conn.execute(_ORDER):
            if decided.get((row[1], row[2], row[3], row[4], row[5])):
                ids.append(row[0])
                if len(ids) >= limit:
                    break
        if not ids:
            return [], shown_count, total
        by_id = {
            r.id: QueueItem(r.id, r.status, r.level, r.priority, tuple(filter(None, r.reasons.split(","))), r.locale,
                            r.role, r.region, aware(r.created_at), r.holder_id, r.transfer_to, r.transfer_locale,
                            bool(r.review_requested), bool(r.person_left), r.first_answer_at is not None,
                            aware(r.last_person_at) if r.last_person_at else None, r.profile)
            for r in conn.execute(_ROWS, {"ids": ids})
        }
        return [by_id[i] for i in ids if i in by_id], shown_count, total

    def queue_mark(self) -> tuple[int, str]:
        """Changes whenever the queue does: the live page compares marks instead of whole lists."""
        stmt = select(func.count(), func.max(col(Ticket.updated_at))).where(
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]))
        count, latest = self.s.execute(stmt).one()
        return int(count), str(latest)

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.s.get(Ticket, ticket_id)

    def messages(self, ticket_id: int, after: int = 0) -> list[TicketMessage]:
        stmt = (select(TicketMessage)
                .where(col(TicketMessage.ticket_id) == ticket_id, col(TicketMessage.id) > after)
                .order_by(col(TicketMessage.id)))
        return list(self.s.execute(stmt).scalars())

    def notes(self, ticket_id: int) -> list[TicketNote]:
        stmt = select(TicketNote).where(col(TicketNote.ticket_id) == ticket_id).order_by(col(TicketNote.id))
        return list(self.s.execute(stmt).scalars())

    def channel_of(self, session_id: str) -> str | None:
        stmt = select(col(ConversationSession.channel)).where(col(ConversationSession.id) == session_id)
        return self.s.execute(stmt).scalar()

    # ------------------------------------------------------------------ changes: one conditional UPDATE each
    def claim(self, ticket_id: int, counsellor_id: int, *, supervisor: bool) -> bool:
        """True for exactly one of any number of counsellors claiming at once, in any process: the row decides.

        One conditional `UPDATE … RETURNING`: the second claimer's UPDATE waits for the first one's row lock,
        then re-reads the row, finds a holder and matches nothing.
        """
        offered = or_(col(Ticket.transfer_to).is_(None), col(Ticket.transfer_to) == counsellor_id)
        stmt = (
            update(Ticket)
            .where(col(Ticket.id) == ticket_id, col(Ticket.status).in_([s.value for s in sources_of(Change.CLAIM)]),
                   col(Ticket.holder_id).is_(None), *(() if supervisor else (offered,)))
            .values(status=TicketStatus.CLAIMED.value, holder_id=counsellor_id, transfer_to=None,
                    updated_at=utcnow())
            .returning(col(Ticket.id))
        )
        won = self.s.execute(stmt).scalar() is not None
        if won:
            announce_ticket(self.s, ticket_id)
        return won

    def next_claimable(self, visible: Callable[[TicketFacts], bool], counsellor_id: int, *, supervisor: bool,
                       batch: int = 20) -> int | None:
        """The first ticket of the queue this counsellor may take, locked for this transaction.

        On PostgreSQL `FOR UPDATE SKIP LOCKED`: two counsellors pressing "take next" at once lock different
        tickets instead of queueing on the same one, so both get one. SQLite runs one writer at a time
        (BEGIN IMMEDIATE), which is the same guarantee by other means.
        """
        offered = or_(_TICKETS.c.transfer_to.is_(None), _TICKETS.c.transfer_to == counsellor_id)
        claimable = [s.value for s in sources_of(Change.CLAIM)]
        stmt = (select(*_ORDER.selected_columns)
                .where(_TICKETS.c.status.in_(claimable), _TICKETS.c.holder_id.is_(None),
                       *(() if supervisor else (offered,)))
                .order_by(_TICKETS.c.priority.desc(), _TICKETS.c.created_at, _TICKETS.c.id))
        conn = self.s.connection()
        locking = conn.dialect.name == "postgresql"
        offset = 0
        while True:
            rows = list(conn.execute(stmt.limit(batch).offset(offset)))
            ids = [int(r[0]) for r in rows if visible(TicketFacts(r[1], r[2], r[3], r[4], r[5]))]
            if ids and not locking:
                return ids[0]
            if ids:  # lock one row only: the first of these nobody else holds locked right now
                first = conn.execute(stmt.with_only_columns(_TICKETS.c.id).where(_TICKETS.c.id.in_(ids))
                                     .limit(1).with_for_update(skip_locked=True)).scalar()
                if first is not None:
                    return int(first)
            if len(rows) < batch:
                return None
            offset += batch

    def release(self, ticket_id: int, counsellor_id: int) -> bool:
        stmt = (
            update(Ticket)
            .where(col(Ticket.id) == ticket_id, col(Ticket.status) == TicketStatus.CLAIMED.value,
                   col(Ticket.holder_id) == counsellor_id)
            .values(status=TicketStatus.WAITING.value, holder_id=None, updated_at=utcnow())
        )
        return _rowcount(self.s.execute(stmt)) == 1

    def transfer(self, ticket_id: int, counsellor_id: int, *, to: int | None, locale: str | None) -> bool:
        stmt = (
            update(Ticket)
            .where(col(Ticket.id) == ticket_id, col(Ticket.status) == TicketStatus.CLAIMED.value,
                   col(Ticket.holder_id) == counsellor_id)
            .values(status=TicketStatus.TRANSFERRED.value, holder_id=None, transfer_to=to, transfer_locale=locale,
                    updated_at=utcnow())
        )
        return self._changed(stmt, ticket_id)

    def ask_review(self, ticket_id: int, counsellor_id: int) -> bool:
        stmt = (update(Ticket)
                .where(col(Ticket.id) == ticket_id, col(Ticket.holder_id) == counsellor_id,
                       col(Ticket.status) == TicketStatus.CLAIMED.value)
                .values(review_requested=True, updated_at=utcnow()))
        return self._changed(stmt, ticket_id)

    def close(self, ticket_id: int, counsellor_id: int | None, outcome: str, detail: bytes | None) -> bool:
        """`counsellor_id` None: a supervisor closes whatever holds it."""
        now, minute = utcnow(), utcminute()
        conditions = [col(Ticket.id) == ticket_id,
                      col(Ticket.status).in_([s.value for s in sources_of(Change.CLOSE)])]
        if counsellor_id is not None:
            conditions.append(col(Ticket.holder_id) == counsellor_id)
        stmt = update(Ticket).where(*conditions).values(
            status=TicketStatus.CLOSED.value, outcome=outcome, outcome_detail=detail, closed_at=minute, updated_at=now)
        if not self._changed(stmt, ticket_id):
            return False
        self.s.execute(update(TicketStat).where(col(TicketStat.ticket_id) == ticket_id)
                       .values(closed_at=minute, outcome=outcome))
        return True

    def reopen(self, ticket_id: int, now: dt.datetime) -> bool:
        stmt = (
            update(Ticket)
            .where(col(Ticket.id) == ticket_id, col(Ticket.status) == TicketStatus.CLOSED.value,
                   col(Ticket.closed_at) >= now - REOPEN_WITHIN)
            .values(status=TicketStatus.WAITING.value, holder_id=None, transfer_to=None, transfer_locale=None,
                    outcome=None, outcome_detail=None, closed_at=None, updated_at=now)
        )
        if not self._changed(stmt, ticket_id):
            return False
        self.s.execute(update(TicketStat).where(col(TicketStat.ticket_id) == ticket_id)
                       .values(closed_at=None, outcome=None))
        return True

    def raise_to_urgent(self, ticket_id: int, priority: int, reason: str, keys: Keyring) -> None:
        """A danger word in a relayed message puts the ticket on top of the queue (the reason joins the
        sealed profile)."""
        from bot.storage.sealed import open_profile, seal_profile

        ticket = self.s.get(Ticket, ticket_id)
        if ticket is None:
            return
        box = keys.ticket(self.s, ticket_id)
        profile = open_profile(box, ticket_id, ticket.profile, ticket)
        if reason not in profile.reasons:
            profile = replace(profile, reasons=(*profile.reasons, reason))
        ticket.profile = seal_profile(box, ticket_id, profile)
        ticket.reasons, ticket.role, ticket.region, ticket.goal = "", "", None, ""
        ticket.level, ticket.priority = "urgent", priority
        ticket.updated_at = utcnow()
        self.s.add(ticket)
        announce_ticket(self.s, ticket_id)

    def _changed(self, stmt: Any, ticket_id: int) -> bool:
        """Runs a conditional UPDATE of one ticket; announces it if it matched."""
        if _rowcount(self.s.execute(stmt)) != 1:
            return False
        announce_ticket(self.s, ticket_id)
        return True

    # ------------------------------------------------------------------ the chat and notes
    def add_counsellor_message(self, ticket_id: int, body: bytes) -> dt.datetime | None:
        """Returns the moment when this was the request's first answer (for the metrics), else None."""
        now = utcminute()
        self.s.add(TicketMessage(ticket_id=ticket_id, sender="counsellor", body=body, created_at=now))
        first = (update(Ticket).where(col(Ticket.id) == ticket_id, col(Ticket.first_answer_at).is_(None))
                 .values(first_answer_at=now))
        if _rowcount(self.s.execute(first)):
            self.s.execute(update(TicketStat).where(col(TicketStat.ticket_id) == ticket_id)
                           .values(first_answer_at=now))
            announce_ticket(self.s, ticket_id)
            return now
        announce_ticket(self.s, ticket_id)
        return None

    def add_note(self, ticket_id: int, counsellor_id: int, body: bytes, explanations: list[str]) -> None:
        self.s.add(TicketNote(ticket_id=ticket_id, counsellor_id=counsellor_id, body=body,
                              explanations=",".join(explanations)))
        announce_ticket(self.s, ticket_id)

    def relay(self, session_id: str, channel: str, payload: bytes) -> None:
        """A message for the person, written by the counsellor side: the channel's relay deliverer sends it."""
        stmt = insert(OutboxMessage).values(session_id=session_id, channel=channel, payload=payload,
                                            origin="relay", created_at=utcminute()).returning(col(OutboxMessage.id))
        announce_relay(self.s, channel, int(self.s.execute(stmt).scalar_one() or 0))

    # ------------------------------------------------------------------ canned replies
    def canned(self, locale: str | None = None) -> list[CannedReply]:
        stmt = select(CannedReply).order_by(col(CannedReply.locale), col(CannedReply.title))
        if locale is not None:
            stmt = stmt.where(col(CannedReply.locale) == locale)
        return list(self.s.execute(stmt).scalars())

    def save_canned(self, reply_id: int | None, locale: str, title: str, body: str) -> None:
        row = self.s.get(CannedReply, reply_id) if reply_id else None
        row = row or CannedReply(locale=locale, title=title, body=body)
        row.locale, row.title, row.body, row.updated_at = locale, title, body, utcnow()
        self.s.add(row)

    def delete_canned(self, reply_id: int) -> None:
        row = self.s.get(CannedReply, reply_id)
        if row is not None:
            self.s.delete(row)

    # ------------------------------------------------------------------ statistics
    def stats(self, since: dt.datetime) -> list[TicketStat]:
        stmt = select(TicketStat).where(col(TicketStat.created_at) >= since).order_by(col(TicketStat.created_at))
        return list(self.s.execute(stmt).scalars())

    def survey(self, since: dt.datetime) -> list[tuple[str, str, int]]:
        stmt = (select(col(SurveyAnswer.question), col(SurveyAnswer.answer), func.count())
                .where(col(SurveyAnswer.at) >= since)
                .group_by(col(SurveyAnswer.question), col(SurveyAnswer.answer)))
        return [(q, a, int(n)) for q, a, n in self.s.execute(stmt)]


def pending_relay(s: Session, channel: str, session_id: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The counsellor side's messages not yet sent on `channel` (optionally for one session), oldest first.

    This is the seam for every channel: a deliverer reads these, opens each payload with the keyring under
    `outbox:<session_id>`, sends it its own way, then deletes the rows (`Repository.delete_outbox`).
    """
    conditions = [col(OutboxMessage.origin) == "relay", col(OutboxMessage.channel) == channel,
                  col(OutboxMessage.sent_at).is_(None)]
    if session_id is not None:
        conditions.append(col(OutboxMessage.session_id) == session_id)
    stmt = select(OutboxMessage).where(and_(*conditions)).order_by(col(OutboxMessage.id)).limit(limit)
    return list(s.execute(stmt).scalars())
