"""The web chat's conversation logic, shared by the WebSocket and the plain-HTTP fallback.

A frame from the page becomes an Envelope for the same Dispatcher as every channel (channel "web", the
user id a random token the tab keeps in sessionStorage); the step's replies go back tagged with their outbox
row, and leave the outbox only when the page acknowledges them. Rows written by anyone else (a counsellor's
reply written by the dashboard, in this process or another) are found by a periodic check of the outbox,
or at once when the writer pokes `WebChat.poke`, and pushed to the session's open connections.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.channels.webchat import codes
from bot.channels.webchat.limits import AddressBook, WebchatLimits, bucket_of
from bot.channels.webchat.render import render_all
from bot.crypto import Keyring
from bot.dispatch import Delivery, Dispatcher, Envelope
from bot.security_log import limit_hit
from bot.storage import data_keys
from bot.storage.models import OutboxMessage, utcnow
from bot.urgent import GRACE_SECONDS, in_time
from content.i18n import LOCALES, normalise_locale
from flows.engine import Engine
from flows.messages import Inbound, Outbound

log = logging.getLogger("baken.webchat")

CHANNEL = "web"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
COMMANDS = frozenset({"help", "urgent", "restart", "forget", "back", "language", "stop"})
MAX_TICKS = 30
#: the purpose of the key the page seals its copy of the transcript with (sessionStorage holds only that
#: ciphertext and the token); derived from the conversation's data key, so End and erase, /forget and
#: retention make any copy of the tab's storage unreadable
TRANSCRIPT_KEY = b"webchat transcript in the page"

Frame = dict[str, Any]
Push = Callable[[list[Frame]], Awaitable[None]]


def _b64(key: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode() if key is not None else None


class BadFrame(ValueError):
    """A frame the page would never send: answered with an error frame, nothing dispatched."""


@dataclass(eq=False)
class Listener:
    """Somewhere a session's messages can be pushed: an open WebSocket, or an HTTP long-poll waiting."""

    push: Push
    session_id: str


@dataclass
class Peer:
    """One tab talking to us: its token (None until it has one), its address and its language."""

    address: str
    token: str | None = None
    locale: str = "nl"
    listener: Listener | None = None


@dataclass
class _Relay:
    """Which outbox rows each connected session has been sent and not yet acknowledged."""

    listeners: dict[str, set[Listener]] = field(default_factory=dict)
    sent: dict[str, set[int]] = field(default_factory=dict)
    #: sessions with a step under way: their new row goes out with the step's answer, not from the check
    busy: dict[str, int] = field(default_factory=dict)
    #: outbox id → when its deletion committed (inf while under way): a check that began before then may
    #: still have read the row, and must not push it again (SQLite may later give the id to a new row)
    acked: dict[int, float] = field(default_factory=dict)


class WebChat:
    def __init__(
        self, dispatcher: Dispatcher, engine: Engine, limits: WebchatLimits | None = None, *, address_scale: int = 1,
    ) -> None:
        self.dispatcher = dispatcher
        self.engine = engine
        self.store = dispatcher.store
        self.keys = dispatcher.keys
        self.limits = limits or WebchatLimits()
        lim = self.limits
        scale = max(1, address_scale)
        self.per_session = AddressBook(bucket_of(lim.per_connection))
        self.per_address = AddressBook(bucket_of((lim.per_address[0] * scale, lim.per_address[1] * scale)))
        self.new_sessions = AddressBook(
            bucket_of((lim.new_sessions_per_address[0] * scale, lim.new_sessions_per_address[1] * scale))
        )
        self.code_tries = AddressBook(bucket_of(lim.code_tries_per_address))
        self.code_tries_overall = bucket_of(lim.code_tries_overall)()
        self.connections_per_address = lim.connections_per_address * scale
        self._open: dict[str, int] = {}
        self._relay = _Relay()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._acks: dict[str, set[int]] = {}  # acknowledged, to delete in the next batch
        self._ack_wake = asyncio.Event()
        self._ack_task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self.urgent_grace = GRACE_SECONDS  # see bot.urgent
        self._late: set[asyncio.Task[list[Frame]]] = set()  # urgent frames answered before their step

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        # a counsellor's reply stored by any process wakes the relay at once (bot/events.py)
        self._unsubscribe = self.store.events.on_relay(CHANNEL, self.poke)
        self._task = asyncio.create_task(self._relay_loop(), name="baken-webchat-relay")
        self._ack_task = asyncio.create_task(self._ack_loop(), name="baken-webchat-acks")

    async def stop(self) -> None:
        self._unsubscribe()
        for task in (self._task, self._ack_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.flush_acks()

    def poke(self, session_id: str | None = None) -> None:
        """Say that outbox rows were written (e.g. a counsellor's reply): connected sessions get them now."""
        self._wake.set()

    # ------------------------------------------------------------------ connections per address
    def open_connection(self, address: str) -> bool:
        if self._open.get(address, 0) >= self.connections_per_address:
            return False
        self._open[address] = self._open.get(address, 0) + 1
        return True

    def close_connection(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)

    # ------------------------------------------------------------------ listeners
    def listen(self, peer: Peer, push: Push) -> None:
        self.unlisten(peer)
        if peer.token is None:
            return
        listener = Listener(push, self.dispatcher.pseudonym(CHANNEL, peer.token))
        peer.listener = listener
        self._relay.listeners.setdefault(listener.session_id, set()).add(listener)

    def unlisten(self, peer: Peer) -> None:
        listener, peer.listener = peer.listener, None
        if listener is None:
            return
        group = self._relay.listeners.get(listener.session_id)
        if group is not None:
            group.discard(listener)
            if not group:
                del self._relay.listeners[listener.session_id]
                # nobody holds what was sent: a new connection of this session gets it again
                self._relay.sent.pop(listener.session_id, None)

    def connected_sessions(self) -> int:
        """How many sessions have an open page here (for the load script and health checks)."""
        return len(self._relay.listeners)

    # ------------------------------------------------------------------ frames
    async def handle(self, peer: Peer, frame: Frame) -> list[Frame]:
        """One frame from the page; the frames to answer it with."""
        kind = frame.get("type")
        if not isinstance(kind, str):
            raise BadFrame("no type")
        if kind == "ack":
            await self._ack(peer, frame.get("ids"))
            return []
        urgent = self._is_urgent(peer, frame)
        if not self.per_address.take(peer.address) and not urgent:
            limit_hit("webchat_address")
            return [self._error("slow_down", frame)]
        if kind == "hello":
            return await self._hello(peer, frame)
        if urgent:
            return await self._numbers_first(peer, frame)
        return await self._act(peer, frame)

    async def _act(self, peer: Peer, frame: Frame) -> list[Frame]:
        kind = frame.get("type")
        if peer.token is None:
            # an action before a session exists (after an erase, or an expired tab): open one first
            opened = await self._hello(peer, {"lang": peer.locale})
            if peer.token is None or (kind == "choice" and frame.get("data") == "again"):
                return opened  # "Start again" after an erase: the new session's welcome is the answer
            return opened + await self.handle(peer, frame)
        if not self.per_session.take(peer.token) and not self._is_urgent(peer, frame):
            limit_hit("webchat_tab")
            return [self._error("slow_down", frame)]
        if kind == "code":
            return [await self._new_code(peer)]
        return await self._step(peer, frame)

    async def _numbers_first(self, peer: Peer, frame: Frame) -> list[Frame]:
        """An urgent frame whose step is late (storage locked or down) or fails gets the numbers at once.

        Late: the numbers now; the step's own answer follows through the open connection when it comes (the
        page keeps the message as unanswered meanwhile, and sends it again after a reconnect). Failed: the
        numbers, and the text back in the box with "down for the moment".
        """
        inbound = self._urgent_inbound(frame)
        numbers = self.dispatcher.urgent_numbers(inbound, peer.locale) if inbound is not None else None
        task = asyncio.ensure_future(self._act(peer, frame))
        if numbers is None or (await in_time(task, self.urgent_grace) and task.exception() is None):
            return await task
        log.warning("urgent numbers sent without the stored step: it is late or failed")
        first: Frame = {"type": "messages", "items": render_all(numbers()), "ack": [], "re": None}
        if task.done():
            task.exception()  # seen: the person is told below
            return [first, {"type": "error", "reason": "unavailable", "id": frame.get("id")}]
        self._late.add(task)
        task.add_done_callback(lambda done: self._answer_late(peer.listener, frame, done))
        return [first]

    def _answer_late(self, listener: Listener | None, frame: Frame, task: asyncio.Task[list[Frame]]) -> None:
        """The late step's answer, without the numbers already shown, to the page that asked."""
        self._late.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            frames: list[Frame] = [{"type": "error", "reason": "unavailable", "id": frame.get("id")}]
        else:
            frames = task.result()
            for out in frames:
                if out.get("type") == "messages":
                    out["items"] = [i for i in out.get("items", []) if not i.get("urgent")]
                if isinstance(frame.get("id"), str):
                    out.setdefault("re", frame["id"])
        if listener is not None:
            pushed = asyncio.ensure_future(listener.push(frames))
            pushed.add_done_callback(lambda p: p.cancelled() or p.exception())
        # with no page listening, the step's rows wait in the outbox: the page's next hello gets them

    def _urgent_inbound(self, frame: Frame) -> Inbound | None:
        """The frame as the engine would read it, when it is a kind that can ask for urgent help."""
        kind, text, data = frame.get("type"), frame.get("text"), frame.get("data")
        if kind == "command" and frame.get("name") == "urgent":
            return Inbound.command("urgent")
        if kind == "text" and isinstance(text, str) and len(text) <= self.limits.message_chars:
            return Inbound.from_text(text)
        if kind == "choice" and isinstance(data, str) and len(data) <= 64:
            return Inbound.choice(data)
        return None

    def _is_urgent(self, peer: Peer, frame: Frame) -> bool:
        """Never refused: the emergency command, a danger answer, and any message that mentions danger."""
        inbound = self._urgent_inbound(frame)
        return inbound is not None and self.dispatcher.urgent_numbers(inbound, peer.locale) is not None

    @staticmethod
    def _error(reason: str, frame: Frame) -> Frame:
        return {"type": "error", "reason": reason, "id": frame.get("id")}

    async def _hello(self, peer: Peer, frame: Frame) -> list[Frame]:
        page_lang = normalise_locale(str(frame.get("lang") or "")) or peer.locale
        peer.locale = page_lang
        token = frame.get("token")
        out: list[Frame] = []
        state: str | None = None
        data: dict[str, Any] | None = None
        vault: bytes | None = None
        if isinstance(token, str) and TOKEN.match(token):
            state, data, vault = await self.dispatcher.resume(CHANNEL, token, TRANSCRIPT_KEY)
        if state is None or data is None or vault is None or not isinstance(token, str):
            if not self.new_sessions.take(peer.address):
                limit_hit("webchat_new_conversations")
                return [{"type": "error", "reason": "slow_down", "id": None}]
            token = secrets.token_urlsafe(32)  # always ours: a token the page made up is never adopted
            peer.token = token
            delivery = await self.dispatcher.handle(Envelope(CHANNEL, token, Inbound.command("start"),
                                                             locale_hint=page_lang))
            peer.locale = delivery.locale or page_lang
            _state, _data, vault = await self.dispatcher.resume(CHANNEL, token, TRANSCRIPT_KEY)
            out.append({"type": "session", "token": token, "locale": peer.locale, "new": True,
                        "vault": _b64(vault)})
            out.append(self._frame(delivery))
            self._note_sent(delivery)
            return out
        peer.token = token
        peer.locale = str(data.get("locale") or page_lang)
        out.append({"type": "session", "token": token, "locale": peer.locale, "new": False, "vault": _b64(vault)})
        pending = await self.pending(peer)
        out += pending
        if frame.get("fresh") and not pending:
            # a page without the transcript (another device, a code): show where the conversation is
            items = render_all(self.engine.prompt(state, data))
            out.append({"type": "messages", "items": items, "ack": [], "locale": peer.locale, "resumed": True})
        return out

    async def _step(self, peer: Peer, frame: Frame) -> list[Frame]:
        assert peer.token is not None
        kind = frame.get("type")
        msg_id = frame.get("id")
        key = msg_id if isinstance(msg_id, str) and MESSAGE_ID.match(msg_id) else None
        if kind == "text":
            text = frame.get("text")
            if not isinstance(text, str):
                raise BadFrame("text without text")
            if len(text) > self.limits.message_chars:
                return [self._error("too_long", frame)]
            inbounds = [Inbound.from_text(text)]
        elif kind == "choice":
            data = frame.get("data")
            if not isinstance(data, str) or len(data) > 64:
                raise BadFrame("choice without data")
            inbounds = [Inbound.choice(data)]
        elif kind == "command":
            name = frame.get("name")
            if name not in COMMANDS:
                raise BadFrame("unknown command")
            inbounds = [Inbound.command(str(name))]
        elif kind == "ticks":
            toggles = frame.get("toggle")
            done = frame.get("data", "go")
            if not isinstance(toggles, list) or len(toggles) > MAX_TICKS or not isinstance(done, str):
                raise BadFrame("ticks")
            inbounds = [Inbound.choice(f"tick:{v}") for v in toggles if isinstance(v, str) and len(v) <= 32]
            inbounds.append(Inbound.choice(done))
        elif kind == "language":
            lang = frame.get("lang")
            if lang not in LOCALES:
                raise BadFrame("language")
            inbounds = [Inbound.command("language"), Inbound.choice(f"lang:{lang}")]
        else:
            raise BadFrame(f"unknown type {kind!r}")
        return await self._dispatch(peer, inbounds, key)

    async def _dispatch(self, peer: Peer, inbounds: list[Inbound], key: str | None) -> list[Frame]:
        """Several inbounds for one action (ticks then Done; language then its choice): the page shows the
        last step's replies, plus any emergency numbers an earlier step gave."""
        assert peer.token is not None
        sid = self.dispatcher.pseudonym(CHANNEL, peer.token)
        self._relay.busy[sid] = self._relay.busy.get(sid, 0) + 1
        try:
            return await self._dispatch_steps(peer, inbounds, key)
        finally:
            left = self._relay.busy[sid] - 1
            if left:
                self._relay.busy[sid] = left
            else:
                del self._relay.busy[sid]

    async def _dispatch_steps(self, peer: Peer, inbounds: list[Inbound], key: str | None) -> list[Frame]:
        assert peer.token is not None
        shown: list[Outbound] = []
        hidden: list[int] = []
        delivery: Delivery | None = None
        for n, inbound in enumerate(inbounds):
            last = n == len(inbounds) - 1
            update_key = f"{key}.{n}" if key is not None else None
            delivery = await self.dispatcher.handle(Envelope(
                CHANNEL, peer.token, inbound, update_key=update_key, locale_hint=peer.locale,
            ))
            if delivery.forgotten:
                break
            if delivery.duplicate:
                # a page re-sending what we already handled (its socket dropped): what it has not acknowledged
                return await self.pending(peer) or [{"type": "messages", "items": [], "ack": []}]
            if not last:
                shown += [r for r in delivery.replies if r.urgent]
                hidden += delivery.outbox_ids
        assert delivery is not None
        if hidden:
            await self._delete_outbox(delivery.session_id, hidden)
        if delivery.forgotten:
            return [await self._erased(peer, delivery)]
        peer.locale = delivery.locale or peer.locale
        frame = self._frame(delivery, extra=shown)
        self._note_sent(delivery)
        return [frame]

    def _frame(self, delivery: Delivery, extra: list[Outbound] | None = None) -> Frame:
        oid = delivery.outbox_ids[0] if delivery.outbox_ids else None
        items = render_all(extra or []) + render_all(delivery.replies, oid)
        frame: Frame = {"type": "messages", "items": items, "ack": list(delivery.outbox_ids)}
        if delivery.locale:
            frame["locale"] = delivery.locale
        return frame

    def _note_sent(self, delivery: Delivery) -> None:
        if delivery.outbox_ids:
            self._relay.sent.setdefault(delivery.session_id, set()).update(delivery.outbox_ids)

    async def _erased(self, peer: Peer, delivery: Delivery) -> Frame:
        """The session is gone: its codes go too, and the tab forgets its token."""
        sid = delivery.session_id
        await self.store.run(lambda s: codes.forget_codes(s, sid))
        self.unlisten(peer)
        peer.token = None
        peer.locale = delivery.locale or peer.locale
        return {"type": "erased", "items": render_all(delivery.replies), "locale": peer.locale}

    # ------------------------------------------------------------------ acknowledgements and the outbox
    async def _ack(self, peer: Peer, ids: object) -> None:
        """Acknowledged rows leave the outbox in batches: one transaction for every page that just
        confirmed, instead of one each (a row still there only means a reconnecting page sees it again)."""
        if peer.token is None or not isinstance(ids, list):
            return
        wanted = [i for i in ids if isinstance(i, int)][:100]
        if not wanted:
            return
        sid = self.dispatcher.pseudonym(CHANNEL, peer.token)
        for oid in wanted:
            self._relay.acked[oid] = float("inf")
        self._acks.setdefault(sid, set()).update(wanted)
        self._ack_wake.set()

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            try:
                await self.flush_acks()
            except Exception:  # the rows stay and are sent again on reconnect: nothing is lost
                log.exception("web chat acknowledgements failed")

    async def flush_acks(self) -> None:
        """Delete every acknowledged row now (only each session's own rows)."""
        batch, self._acks = self._acks, {}
        if not batch:
            return

        def unit(s: Session) -> None:
            for sid, ids in batch.items():
                s.execute(delete(OutboxMessage).where(
                    col(OutboxMessage.id).in_(list(ids)), col(OutboxMessage.session_id) == sid))

        try:
            await self.store.run(unit)
        finally:
            done = time.monotonic()
            for sid, ids in batch.items():
                for oid in ids:
                    self._relay.acked[oid] = done
                sent = self._relay.sent.get(sid)
                if sent is not None:
                    sent.difference_update(ids)

    async def _delete_outbox(self, session_id: str, ids: list[int]) -> None:
        """Only this session's rows: an id from the page is never trusted to name another's."""

        def unit(s: Session) -> None:
            s.execute(delete(OutboxMessage).where(
                col(OutboxMessage.id).in_(ids), col(OutboxMessage.session_id) == session_id))

        await self.store.run(unit)

    async def pending(self, peer: Peer, *, unsent_only: bool = False) -> list[Frame]:
        """The session's replies not yet acknowledged, oldest first: what a reconnecting tab missed.

        `unsent_only` (a long poll beside its own sends): leave out what this process already handed over
        and what the page acknowledged, so a reply never shows twice.
        """
        if peer.token is None:
            return []
        sid = self.dispatcher.pseudonym(CHANNEL, peer.token)
        began = time.monotonic()
        rows = await self.store.run(lambda s: _pending_rows(s, self.keys, [sid]))
        if unsent_only:
            sent = self._relay.sent.get(sid, set())
            rows = [r for r in rows if r[0] not in sent and self._relay.acked.get(r[0], 0.0) <= began]
        frames = [self._row_frame(oid, replies) for oid, _, replies in rows]
        if rows:
            self._relay.sent.setdefault(sid, set()).update(oid for oid, _, _ in rows)
        return frames

    def _row_frame(self, oid: int, replies: list[Outbound]) -> Frame:
        return {"type": "messages", "items": render_all(replies, oid), "ack": [oid]}

    # ------------------------------------------------------------------ the relay: rows written elsewhere
    async def _relay_loop(self) -> None:
        next_purge = time.monotonic() + 60
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 a stop that cancels this loop while wait_for's inner
            # Event.wait task is being woken can leave the loop "cancelling" for ever (seen: a hung shutdown)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.store.events.poll_every(self.limits.relay_check_seconds)):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.deliver_waiting()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + 3600
                    if await self.purge_codes():
                        log.info("expired web chat codes erased")
            except Exception:  # the loop must outlive one failed check; the next one retries
                log.exception("web chat outbox check failed")

    async def deliver_waiting(self) -> int:
        """Push every unacknowledged row of a connected session that it was not sent yet; how many went."""
        relay = self._relay
        for sid in [sid for sid in relay.sent if sid not in relay.listeners and sid not in relay.busy]:
            del relay.sent[sid]  # answered over plain HTTP, or the tab went: nothing to remember
        began = time.monotonic()
        for oid in [oid for oid, at in relay.acked.items() if at < began - 60]:
            del relay.acked[oid]
        if not relay.listeners:
            return 0
        rows = await self.store.run(lambda s: _pending_rows(s, self.keys, None))
        count = 0
        for oid, sid, replies in rows:
            if relay.acked.get(oid, 0.0) > began:
                continue  # read before its acknowledgement committed: already with the page
            if sid in relay.busy:
                continue  # its step answers with this row itself; anything else goes on the next check
            listeners = relay.listeners.get(sid)
            sent = relay.sent.setdefault(sid, set()) if listeners else None
            if not listeners or sent is None or oid in sent:
                continue
            sent.add(oid)
            frame = self._row_frame(oid, replies)
            for listener in list(listeners):
                with contextlib.suppress(Exception):  # a closing socket: the row waits for the next connection
                    await listener.push([frame])
            count += 1
        return count

    # ------------------------------------------------------------------ reference codes
    async def _new_code(self, peer: Peer) -> Frame:
        assert peer.token is not None
        token = peer.token
        sid = self.dispatcher.pseudonym(CHANNEL, token)
        code = codes.new_code()
        await self.store.run(lambda s: codes.store_code(s, self.keys, sid, token, code))
        return {"type": "code", "code": code}

    async def redeem(self, address: str, typed: str) -> tuple[str | None, str | None]:
        """(token, None) for a live code, else (None, reason): `bad_code` or `code_tries`."""
        now = time.monotonic()
        if not self.code_tries.take(address) or not self.code_tries_overall.take(now):
            limit_hit("webchat_code_tries")
            return None, "code_tries"
        bare = codes.normalise(typed)
        if bare is None:
            return None, "bad_code"
        token = await self.store.run(lambda s: codes.redeem_code(s, self.keys, bare))
        return (token, None) if token else (None, "bad_code")

    async def purge_codes(self, now: dt.datetime | None = None) -> int:
        return await self.store.run(lambda s: codes.purge_codes(s, now or utcnow()))


def _pending_rows(s: Session, keys: Keyring, sids: list[str] | None) -> list[tuple[int, str, list[Outbound]]]:
    """Unsent rows, opened inside the transaction with their conversation's key."""
    stmt = select(col(OutboxMessage.id), col(OutboxMessage.session_id), col(OutboxMessage.payload)).where(
        col(OutboxMessage.channel) == CHANNEL, col(OutboxMessage.sent_at).is_(None)
    )
    if sids is not None:
        stmt = stmt.where(col(OutboxMessage.session_id).in_(sids))
    stmt = stmt.order_by(col(OutboxMessage.id)).limit(1000)
    rows = s.execute(stmt).all()
    data_keys.preload(s, keys, {data_keys.session_key_id(str(r[1])) for r in rows})
    return [(int(r[0]), str(r[1]),
             [Outbound.from_json(o) for o in keys.conversation(s, str(r[1])).open_json(bytes(r[2]), f"outbox:{r[1]}")])
            for r in rows]
