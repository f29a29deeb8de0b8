"""The no-loss message path: one transaction per inbound message, replies through an outbox.

One person, one order: every channel comes through `Dispatcher.handle`, which takes the conversation's lane
(in this process, first come first served) and then its lock in the database (across processes on
PostgreSQL), so a conversation's messages are stepped one at a time in the order they arrived, while other
conversations run concurrently.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot import metrics
from bot.crypto import Keyring
from bot.lanes import KeyedLocks, LaneFull
from bot.request_limit import count_recent, mark_key, mark_request
from bot.security_log import step_refused
from bot.storage.desk import Desk
from bot.storage.models import ConsentRecord, SurveyAnswer, Ticket, TicketMessage
from bot.storage.repository import NewTicket, Repository
from bot.storage.sealed import open_session, seal_session
from bot.storage.store import Store
from bot.urgent import StorageHealth
from content.i18n import translator
from flows.effects import (
    ForgetSession,
    GiveConsent,
    OpenTicket,
    RecordSurvey,
    RelayToCounsellor,
    ShowStoredData,
    WithdrawTicket,
)
from flows.engine import Engine, StepResult
from flows.messages import Inbound, Outbound
from handover.hours import OpeningHours
from handover.my_data import StoredRequest, describe_requests
from handover.notices import next_steps

log = logging.getLogger("baken.dispatch")
#: the outbox "channel" of short new-ticket notices for the counsellors' Telegram group (no session behind it)
COUNSELLOR_NOTICES = "counsellors"


@dataclass(frozen=True, slots=True)
class Envelope:
    """An inbound message as a channel hands it over; `user_id` never leaves this module unhashed."""

    channel: str
    user_id: str
    inbound: Inbound
    update_key: str | None = None
    locale_hint: str | None = None
    address: str | None = None
    message_ref: int | None = None  # the channel's id of this message in the chat, for /forget to delete
    #: the channel answers updates inside their webhook reply, and Telegram delivers a chat's next update
    #: only once it read the answer to the earlier one: the step's outbox row is written marked for an
    #: answer (`sent_at`), and a first delivery settles (deletes) the chat's earlier marked rows
    settles_answers: bool = False


@dataclass(frozen=True, slots=True)
class ShownMessage:
    """A message a channel showed in the person's chat: what /forget may still remove from their screen."""

    message_id: int
    at: dt.datetime


@dataclass
class Delivery:
    session_id: str
    replies: list[Outbound]
    outbox_ids: list[int] = field(default_factory=list)
    duplicate: bool = False
    address: str | None = None
    forgotten: bool = False
    locale: str | None = None  # the session's language, for what a channel adds itself
    trail: list[ShownMessage] = field(default_factory=list)  # only when forgotten: the chat's messages
    #: of a re-delivered step of several messages: how many went out already (see Dispatcher.sent_parts)
    parts_sent: int = 0
    # for the metrics, counted once the transaction is committed: the step's own time, what it opened/relayed
    flow_seconds: float = 0.0
    opened_levels: list[str] = field(default_factory=list)
    relayed: int = 0
    refused: str = ""  # what the step refused (a code, never the input): logged once committed


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _before_the_question(replies: list[Outbound], extra: list[Outbound]) -> list[Outbound]:
    """What the step's effects add (the queue position, the stored data) goes before the step's closing
    question, so the buttons stay last and the whole answer is one message where it fits."""
    if extra and replies and replies[-1].buttons:
        return [*replies[:-1], *extra, replies[-1]]
    return replies + extra


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        keyring: Keyring,
        hours: OpeningHours,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        max_waiting: int = 100,
        ordered: bool = True,
        notify_counsellors: bool = False,
    ) -> None:
        self.notify_counsellors = notify_counsellors
        self.engine = engine
        self.store = store
        self.keys = keyring
        self.hours = hours
        self.clock = clock
        #: per conversation, at most `max_waiting` messages in its lane; past it handle() raises LaneFull
        self.lanes: KeyedLocks[str] = KeyedLocks(max_waiting)
        self.ordered = ordered  # False only to measure what ordering costs (bench.ordering)
        self.health = StorageHealth()  # whether steps lately failed or hang: the urgent numbers' note says so

    def pseudonym(self, channel: str, user_id: str) -> str:
        return self.keys.pseudonym(channel, user_id)

    async def handle(self, env: Envelope) -> Delivery:
        """Dedupe, lock, step, apply, save and queue the replies: all or nothing, in one transaction.

        Waits for the conversation's earlier messages first, in arrival order: call it as soon as a message
        arrives. Raises LaneFull when too many of this conversation's messages already wait.
        """
        started = time.perf_counter()
        try:
            delivery = await self._handle_in_lane(env)
        except LaneFull:
            metrics.count_update(env.channel, "lane_full")
            raise
        except Exception:
            metrics.count_update(env.channel, "failed")
            raise
        self._tally(env.channel, delivery, time.perf_counter() - started)
        return delivery

    async def _handle_in_lane(self, env: Envelope) -> Delivery:
        sid = self.keys.pseudonym(env.channel, env.user_id)
        if not self.ordered:
            with self.health.unit():
                delivery = await self.store.run(lambda s: self._handle(Repository(s), sid, env))
        else:
            async with self.lanes.hold(sid):
                with self.health.unit():
                    delivery = await self.store.run(lambda s: self._handle(Repository(s), sid, env))
        if delivery.forgotten and not delivery.duplicate:
            await self.store.after_erasure()  # SQLite: the erased rows leave the WAL file too
        return delivery

    @staticmethod
    def _tally(channel: str, delivery: Delivery, seconds: float) -> None:
        """Counted (and refusals logged) after the commit, so a retried transaction is counted once."""
        outcome = "duplicate" if delivery.duplicate else "erased" if delivery.forgotten else "stepped"
        metrics.count_update(channel, outcome)
        metrics.observe_step(channel, "stored", seconds)
        if not delivery.duplicate:
            metrics.observe_step(channel, "flow", delivery.flow_seconds)
        for level in delivery.opened_levels:
            metrics.count_ticket(level)
        for _ in range(delivery.relayed):
            metrics.count_relay("to_counsellor", channel)
        if delivery.refused:
            step_refused(delivery.refused, channel)

    def urgent_numbers(self, inbound: Inbound, locale: str | None) -> Callable[[], list[Outbound]] | None:
        """For a message asking for urgent help: what makes its numbers without storage (see bot.urgent)."""
        if self.engine.urgent_answer(inbound, locale, storage_down=False) is None:
            return None
        return lambda: self.engine.urgent_answer(inbound, locale, storage_down=self.health.down()) or []

    def _handle(self, repo: Repository, sid: str, env: Envelope) -> Delivery:
        if self.ordered:
            repo.lock_conversation(sid)  # before the dedupe: a re-delivery waits for its first delivery
        if env.update_key is not None and not repo.first_delivery(env.channel, env.update_key, sid):
            marker = repo.seen_marker(env.channel, env.update_key)
            if marker.startswith("erased:"):  # the erasure's answer was lost: say it again, start nothing
                locale = marker.removeprefix("erased:") or env.locale_hint or "nl"
                return Delivery(sid, self.engine.erased(locale), duplicate=True, forgotten=True, locale=locale)
            return self._redeliver(repo, sid, env.update_key)
        if env.settles_answers:
            repo.settle_answered(sid)
        row = repo.lock_session(sid)
        state, data, address = None, None, env.address
        box = self.keys.conversation(repo.s, sid)  # a new conversation's key is made here
        if row is not None:
            state, data = open_session(box, sid, row)
            if row.address is not None and address is None:
                address = box.open_text(row.address, f"address:{sid}")
        if state == "review" and data is not None:  # the consent question: how many requests lately
            data["recent_requests"] = count_recent(repo.s, mark_key(self.keys, sid), self.clock())
        stepping = time.perf_counter()
        result = self.engine.step(state, data, env.inbound, env.locale_hint)
        flow_seconds = time.perf_counter() - stepping
        replies = _before_the_question(list(result.replies), self._apply(repo, sid, result))
        opened = [e.level for e in result.effects if isinstance(e, OpenTicket)]
        relayed = sum(1 for e in result.effects if isinstance(e, RelayToCounsellor))
        if result.state is None or result.data is None:
            trail = [ShownMessage(m.message_id, _aware(m.created_at)) for m in repo.trail_of(sid)]
            if env.message_ref is not None:
                trail.append(ShownMessage(env.message_ref, self.clock()))
            gone_locale: str | None = (data or {}).get("locale") or env.locale_hint
            erasing = (env.channel, env.update_key) if env.update_key is not None else None
            repo.forget(sid, erasing, gone_locale or "")
            return Delivery(sid, replies, address=address, forgotten=True, locale=gone_locale, trail=trail,
                            flow_seconds=flow_seconds)
        if env.message_ref is not None:
            repo.add_trail(sid, [env.message_ref])
        repo.save_session(
            sid, channel=env.channel, data=seal_session(box, sid, result.state, result.data),
            address=box.seal_text(address, f"address:{sid}") if address is not None else None,
            new=row is None,
        )
        # one outbox row per step: the step's replies are sent, and forgotten, together
        payload = box.seal_json([o.to_json() for o in replies], f"outbox:{sid}")
        ids = [repo.add_outbox(sid, env.channel, payload, env.update_key, answered=env.settles_answers)
               ] if replies else []
        return Delivery(sid, replies, ids, address=address, locale=result.data["locale"],
                        flow_seconds=flow_seconds, opened_levels=opened, relayed=relayed, refused=result.refused)

    def _redeliver(self, repo: Repository, sid: str, update_key: str) -> Delivery:
        """This update's own replies again, if they are still kept: never another update's, which Telegram
        may already have shown."""
        pending = repo.replies_of(sid, update_key)
        box = self.keys.conversation(repo.s, sid) if pending else None
        replies = [Outbound.from_json(o) for p in pending if box is not None
                   for o in box.open_json(p.payload, f"outbox:{sid}")]
        done = pending[0].parts_sent if len(pending) == 1 else 0  # rows from before update keys: all again
        return Delivery(sid, replies, [p.id for p in pending if p.id is not None], duplicate=True, parts_sent=done)

    def _apply(self, repo: Repository, sid: str, result: StepResult) -> list[Outbound]:
        extra: list[Outbound] = []
        for effect in result.effects:
            if isinstance(effect, GiveConsent):
                repo.record_consent(sid, effect.consent_version, effect.locale, effect.shares_story)
            elif isinstance(effect, OpenTicket):
                ticket = repo.open_ticket(sid, NewTicket(
                    level=effect.level, priority=effect.priority, reasons=effect.reasons, locale=effect.locale,
                    role=effect.role, region=effect.region, goal=effect.goal, summary=effect.summary,
                    story=effect.story or None,
                ), self.keys)
                mark_request(repo.s, mark_key(self.keys, sid), self.clock())
                position = repo.queue_position(ticket)
                t = translator(effect.locale)
                urgent = effect.level == "urgent"
                extra.append(Outbound(next_steps(t, position, self.hours, self.clock(), urgent=urgent), urgent=urgent))
                log.info("ticket opened level=%s priority=%s", effect.level, effect.priority)
                if self.notify_counsellors:
                    notice = (f"Baken: new ticket {ticket.id} · level {effect.level} · language {effect.locale}"
                              f" · region {effect.region or '-'}")
                    payload = self.keys.seal_json([Outbound(notice).to_json()], f"outbox:{COUNSELLOR_NOTICES}")
                    Desk(repo.s).relay(COUNSELLOR_NOTICES, COUNSELLOR_NOTICES, payload)
            elif isinstance(effect, RelayToCounsellor):
                current = repo.open_ticket_of(sid)
                if current is not None and current.id is not None:
                    body = self.keys.ticket(repo.s, current.id).seal_text(effect.text, f"ticket:{sid}")
                    repo.add_ticket_message(current.id, "person", body)
                    if effect.danger is not None:  # the screen's hit: on top of the counsellors' queue now
                        Desk(repo.s).raise_to_urgent(current.id, self.engine.content.triage.priority["urgent"],
                                                     f"screen:{effect.danger}", self.keys)
            elif isinstance(effect, RecordSurvey):
                repo.s.add(SurveyAnswer(question=effect.question, answer=effect.answer))
            elif isinstance(effect, WithdrawTicket):
                repo.withdraw_open(sid)
            elif isinstance(effect, ShowStoredData):
                extra.append(Outbound(describe_requests(translator(effect.locale), self._stored(repo, sid))))
            elif isinstance(effect, ForgetSession):
                pass  # handled after the step: the whole session goes
        return extra

    def _stored(self, repo: Repository, sid: str) -> list[StoredRequest]:
        """Every request of this session with its consent and messages, opened with the session's keys."""
        out = []
        tickets = repo.s.execute(select(Ticket).where(col(Ticket.session_id) == sid).order_by(col(Ticket.id)))
        for ticket in tickets.scalars():
            consent = repo.s.get(ConsentRecord, ticket.consent_id)
            messages = repo.s.execute(
                select(TicketMessage).where(col(TicketMessage.ticket_id) == ticket.id).order_by(col(TicketMessage.id))
            ).scalars()
            box = self.keys.ticket(repo.s, ticket.id or 0)
            out.append(StoredRequest(
                number=ticket.id or 0, status=ticket.status, level=ticket.level, created=_aware(ticket.created_at),
                consent_at=_aware(consent.given_at) if consent is not None else None,
                summary=box.open_text(ticket.summary, f"ticket:{sid}"),
                story=box.open_text(ticket.story, f"ticket:{sid}") if ticket.story else None,
                messages=[(m.sender, box.open_text(m.body, f"ticket:{sid}")) for m in messages],
            ))
        return out

    async def delivered(self, ids: list[int], session_id: str | None = None, shown: Sequence[int] = ()) -> None:
        """Sent replies leave the outbox: nothing of what was said stays longer than needed.

        `shown` are the channel's ids of the messages just sent, kept (with the session) for /forget.
        """
        if not ids and not shown:
            return

        def unit(s: Session) -> None:
            repo = Repository(s)
            repo.delete_outbox(ids)
            if shown and session_id is not None:
                repo.add_trail(session_id, shown)

        await self.store.run(unit)

    async def sent_parts(self, outbox_id: int, parts: int, session_id: str, shown: Sequence[int]) -> None:
        """The first `parts` messages of a step went out by request: a re-delivery of its update sends only
        the rest (one small write per message, for the rare step of several; a crash between a send and
        this write is the one moment a message can still come twice)."""

        def unit(s: Session) -> None:
            repo = Repository(s)
            repo.record_parts(outbox_id, parts)
            if shown:
                repo.add_trail(session_id, shown)

        await self.store.run(unit)

    async def load_state(self, channel: str, user_id: str) -> tuple[str | None, dict[str, Any] | None]:
        """For tests and tools: the stored state of one person's session."""
        state, data, _ = await self.resume(channel, user_id, None)
        return state, data

    async def resume(self, channel: str, user_id: str,
                     purpose: bytes | None) -> tuple[str | None, dict[str, Any] | None, bytes | None]:
        """A returning person's stored state and, for a `purpose`, a key derived from the conversation's data
        key, in one unit: erasing the conversation makes whatever that key sealed unreadable too."""
        sid = self.keys.pseudonym(channel, user_id)

        def unit(s: Session) -> tuple[str | None, dict[str, Any] | None, bytes | None]:
            row = Repository(s).lock_session(sid)
            if row is None:
                return None, None, None
            key = self.keys.conversation(s, sid)
            state, data = open_session(key, sid, row)
            return state, data, key.derive(purpose) if purpose is not None else None

        return await self.store.run(unit)
