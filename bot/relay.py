"""The way back to the person: counsellor-side messages wait in the outbox (origin "relay") until the
deliverer of the person's channel picks them up — in this process or in another one.

The seam for every channel: `RelayPump(store, keyring, channel, send)` polls the outbox rows of one
channel (optionally of one session), opens each with the keyring, calls `send(session_id, address,
replies)` and deletes the row once `send` returned; `send` returns the channel's message ids (for /forget)
or raises to have the row retried. The pump wakes when any process announces a relayed row for its
channel (bot/events.py); otherwise it polls every `every` seconds, or every `slow` while the cross-process
events are heard.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot import metrics
from bot.crypto import Keyring
from bot.storage.data_keys import outbox_key
from bot.storage.desk import pending_relay
from bot.storage.models import ConversationSession
from bot.storage.repository import Repository
from bot.storage.store import Store
from flows.messages import Outbound

log = logging.getLogger("baken.relay")

#: (session id, the channel address or None, the messages) -> the channel's ids of what it showed
Send = Callable[[str, str | None, list[Outbound]], Awaitable[Sequence[int]]]
POLL_EVERY = 0.25  # seconds; well inside the two seconds a counsellor's message may take
#: the sliding window of the bot-wide limit, with a margin: requests leave evenly but arrive with jitter
WINDOW = 1.1
SLOW_POLL = 5.0  # the fallback while events are heard: a lost event costs at most this long


class RelayPump:
    def __init__(self, store: Store, keys: Keyring, channel: str, send: Send, *, session_id: str | None = None,
                 every: float = POLL_EVERY, slow: float = SLOW_POLL) -> None:
        self.store, self.keys, self.channel, self.send = store, keys, channel, send
        self.session_id = session_id
        self.every, self.slow = every, slow
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def once(self) -> int:
        """Deliver what is pending now; returns how many outbox rows went out."""
        def unit(s: Session) -> list[tuple[int, str, list[Outbound], str | None]]:
            """Opened here, with the conversation keys of this transaction: no key outlives the unit."""
            rows = pending_relay(s, self.channel, self.session_id)
            sids = {r.session_id for r in rows}
            addresses = dict(s.execute(select(col(ConversationSession.id), col(ConversationSession.address))
                                       .where(col(ConversationSession.id).in_(sids))).tuples().all()) if sids else {}
            opened = []
            for r in rows:
                box = outbox_key(s, self.keys, r.session_id)
                sealed = addresses.get(r.session_id)
                opened.append((r.id or 0, r.session_id,
                               [Outbound.from_json(o) for o in box.open_json(r.payload, f"outbox:{r.session_id}")],
                               box.open_text(sealed, f"address:{r.session_id}") if sealed else None))
            return opened

        rows = await self.store.run(unit)
        sent = 0
        for oid, sid, replies, address in rows:
            try:
                shown = await self.send(sid, address, replies)
            except Exception:  # a failed send stays in the outbox and is tried again on the next round
                log.exception("relay to %s failed; will retry", self.channel)
                metrics.count_relay("failed", self.channel)
                continue
            metrics.count_relay("delivered", self.channel)

            def done(s: Session, oid: int = oid, sid: str = sid, shown: Sequence[int] = shown) -> None:
                repo = Repository(s)
                repo.delete_outbox([oid])
                if shown:
                    repo.add_trail(sid, shown)

            await self.store.run(done)
            sent += 1
        return sent

    async def run(self) -> None:
        unsubscribe = self.store.events.on_relay(self.channel, self.wake)
        try:
            while True:
                self._wake.clear()  # before reading: a row announced during the round wakes the next one
                try:
                    await self.once()
                except Exception:  # the database may be briefly away; the pump must outlive that
                    log.exception("relay round failed")
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: see WebChat._relay_loop
                    async with asyncio.timeout(self.store.events.poll_every(self.every, self.slow)):
                        await self._wake.wait()
        finally:
            unsubscribe()


def paced(send: Send, gap: float = 1.0, per_second: int = 30) -> Send:
    """At most `per_second` relayed rows in any one second, and one a `gap` per chat (Telegram's limits).

    A sliding window, not a bucket: PTB's rate limiter lets a burst of 30 through and then 30 a second, so
    up to 60 can fall within one second. One sender in the cluster (bot/leader.py) makes this hold for all
    the processes' out-of-band sends together.
    """
    last: dict[str, float] = {}
    window: collections.deque[float] = collections.deque(maxlen=per_second)
    turn = asyncio.Lock()

    async def wrapped(session_id: str, address: str | None, replies: list[Outbound]) -> Sequence[int]:
        key = address or session_id
        async with turn:
            wait = last.get(key, -gap) + gap - time.monotonic()
            if len(window) == per_second:
                wait = max(wait, window[0] + WINDOW - time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            window.append(time.monotonic())
        try:
            return await send(session_id, address, replies)
        finally:
            now = time.monotonic()
            last[key] = now
            if len(last) > 10_000:  # keep only the chats that are still inside their gap
                for stale in [k for k, at in last.items() if at + gap < now]:
                    del last[stale]

    return wrapped


@contextlib.asynccontextmanager
async def pumping(pump: RelayPump) -> AsyncIterator[RelayPump]:
    task = asyncio.create_task(pump.run(), name=f"baken-relay-{pump.channel}")
    try:
        yield pump
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
