"""What changed, told to every process at once: "a relayed message for channel X", "ticket N changed".

Why: the dashboard's live pages, the web chat's relay and the relay pumps used to learn of new rows by
polling the tables. A unit of work now `announce`s what it wrote; the Store sends the announcements with
the transaction (PostgreSQL `pg_notify`, delivered only if it commits, in commit order; or, in mode
"after", batched by the listening connection just after the commit) and, after the commit, wakes this
process's own waiters directly. Each process keeps one listening connection (asyncpg)
for the others' announcements.

An event carries ids only (a ticket number, an outbox row number, a channel name): never text, never a
pseudonym. It says "look now", not what to show: the waiter reads the tables as before. Events can be lost
(a listener reconnecting, a process starting), so after every (re)connection every waiter is woken to
resync from the tables, and every waiter still polls, slowly, as a fallback.

On SQLite (one process) the in-process path alone runs; waiters keep their quick polls there, because a
`baken chat` in another process writes without telling anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("baken.events")

CHANNEL = "baken_events"  # the PostgreSQL notification channel
_PENDING = "baken_events"  # the key in Session.info where a unit of work collects its announcements
#: PostgreSQL refuses payloads of 8,000 bytes or more; announcements are joined into payloads below this
_PAYLOAD_MAX = 7_000
#: mode "after", when busy (several commits queued since the last statement): the next NOTIFY waits until
#: this long after the last, so that what commits meanwhile joins it. A lone event leaves at once. Each NOTIFY
#: is a transaction on the server and wakes every listening process (bench/notify_cost.py, docs/scale-out.md)
NOTIFY_SPACING = 0.002
RELAY, TICKET, RESYNC = "r", "t", "*"


@dataclass(frozen=True, slots=True)
class Event:
    """`kind` RELAY: `key` is the channel, `ident` the outbox row; TICKET: `ident` is the ticket; RESYNC: all."""

    kind: str
    key: str = ""
    ident: int = 0

    def encode(self) -> str:
        return f"{self.kind}:{self.key}:{self.ident}"

    @classmethod
    def decode(cls, text: str) -> Event | None:
        kind, _, rest = text.partition(":")
        key, _, ident = rest.rpartition(":")
        if kind not in (RELAY, TICKET) or not ident.isdigit():
            return None
        return cls(kind, key, int(ident))


def announce_relay(s: Session, channel: str, outbox_id: int) -> None:
    _collect(s, Event(RELAY, channel, outbox_id))


def announce_ticket(s: Session, ticket_id: int | None) -> None:
    if ticket_id is not None:
        _collect(s, Event(TICKET, "", ticket_id))


def _collect(s: Session, event: Event) -> None:
    pending: list[Event] = s.info.setdefault(_PENDING, [])
    if event not in pending:
        pending.append(event)


def collected(s: Session) -> list[Event]:
    """What the unit of work announced (taken out: a retried unit starts empty)."""
    return list(s.info.pop(_PENDING, ()))


def payloads(origin: str, events: list[Event]) -> list[str]:
    """`origin|e1,e2,…` strings under PostgreSQL's payload limit; the origin lets a process skip its own."""
    out: list[str] = []
    current: list[str] = []
    size = len(origin) + 1
    for event in events:
        text = event.encode()
        if current and size + len(text) + 1 > _PAYLOAD_MAX:
            out.append(f"{origin}|{','.join(current)}")
            current, size = [], len(origin) + 1
        current.append(text)
        size += len(text) + 1
    if current:
        out.append(f"{origin}|{','.join(current)}")
    return out


class Signal:
    """A level that anyone may wait for: `mark()` before reading the tables, `wait(mark, timeout)` after.

    Taking the mark first means an event fired between the read and the wait is not missed.
    """

    __slots__ = ("_event", "users", "waiting")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.waiting = 0
        self.users = 0  # streams following this ticket: the signal is dropped when the last one ends

    def mark(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, mark: asyncio.Event, seconds: float) -> bool:
        """True if woken, False after `seconds`."""
        self.waiting += 1
        try:
            async with asyncio.timeout(seconds):
                await mark.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1


class Events:
    """This process's hub: subscribers, signals per ticket and for the queue, and the PostgreSQL listener."""

    def __init__(self) -> None:
        self.origin = secrets.token_hex(4)  # names this process in its own notifications, nothing else
        self._subscribers: list[Callable[[Event], None]] = []
        self.queue = Signal()
        self._tickets: dict[int, Signal] = {}
        self._listener: asyncio.Task[None] | None = None
        #: "after" (the default): sent after the commit by this process's listening connection, batched;
        #: "commit": pg_notify inside the writer's transaction (sent at commit, only if it commits). On a quiet
        #: machine "commit" cost 16-31 % of commit throughput, "after" 0-17 % (bench/notify_cost.py, session
        #: 10); "after" leaves a window where a process dies between its commit and its NOTIFY, which the
        #: waiters' slow poll closes (docs/scale-out.md §1)
        self.mode = "after"
        self._outgoing: list[Event] = []
        self._send_now = asyncio.Event()
        self.listening = False  # True while the listening connection is up: other processes are heard
        self.received = 0  # notifications from other processes, for tests and benchmarks

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """`fn` runs on the event loop for each event; it must be quick (set a flag, wake a task)."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def on_relay(self, channel: str, wake: Callable[[], None]) -> Callable[[], None]:
        return self.subscribe(lambda e: wake() if e.kind == RESYNC or (e.kind == RELAY and e.key == channel) else None)

    def ticket(self, ticket_id: int) -> Signal:
        """The ticket's signal for one more follower; pair with `forget_ticket`."""
        signal = self._tickets.get(ticket_id)
        if signal is None:
            signal = self._tickets[ticket_id] = Signal()
        signal.users += 1
        return signal

    def forget_ticket(self, ticket_id: int) -> None:
        signal = self._tickets.get(ticket_id)
        if signal is not None:
            signal.users -= 1
            if signal.users <= 0:
                del self._tickets[ticket_id]

    def poll_every(self, quick: float, slow: float = 5.0) -> float:
        """The fallback poll: slow while other processes are heard, `quick` when they cannot be."""
        return slow if self.listening else quick

    # ------------------------------------------------------------------ publishing
    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.kind in (TICKET, RESYNC):
                self.queue.fire()
            if event.kind == TICKET:
                signal = self._tickets.get(event.ident)
                if signal is not None:
                    signal.fire()
            elif event.kind == RESYNC:
                for signal in list(self._tickets.values()):
                    signal.fire()
            for fn in list(self._subscribers):
                try:
                    fn(event)
                except Exception:  # one broken subscriber must not stop the others hearing
                    log.exception("event subscriber failed")

    @property
    def after_commit(self) -> bool:
        """Announcements go out after the commit: mode "after" and this process has its connection (a
        process that never listens, such as a command-line tool, notifies inside its transactions)."""
        return self.mode == "after" and self._listener is not None

    def send_after_commit(self, events: list[Event]) -> None:
        """Queue committed events for the listening connection to NOTIFY (mode "after")."""
        if len(self._outgoing) < 100_000:  # bounded while the connection is down; past that, the slow poll
            self._outgoing.extend(events)
        self._send_now.set()

    def _heard(self, payload: str) -> None:
        origin, _, body = payload.partition("|")
        if origin == self.origin:
            return  # published in-process already, right after our own commit
        self.received += 1
        self.publish(e for e in map(Event.decode, body.split(",")) if e is not None)

    # ------------------------------------------------------------------ the listening connection
    def start_listening(self, url: str, *, check_every: float = 2.0) -> None:
        """One connection per process, reconnected for ever; each (re)connection is followed by a resync."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(url, check_every), name="baken-events")

    async def stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self.listening = False

    async def _listen(self, url: str, check_every: float) -> None:
        import asyncpg

        dsn = asyncpg_dsn(url)
        loop = asyncio.get_running_loop()
        delay = 0.2
        while True:
            conn: Any = None
            try:
                # its own NOTIFY transactions change no data: they need not wait for the WAL to reach the disk
                conn = await asyncpg.connect(dsn, timeout=10, server_settings={"synchronous_commit": "off"})
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: self._heard(payload))
                self.listening = True
                delay = 0.2
                self.publish([Event(RESYNC)])  # what was announced while we were not listening
                sent_at = -NOTIFY_SPACING
                while not lost.is_set():
                    if self._outgoing:  # one statement for everything queued since the last one
                        pause = sent_at + NOTIFY_SPACING - loop.time()
                        if pause > 0 and len(self._outgoing) > 1:  # busy: let more commits join this statement
                            await asyncio.sleep(pause)
                        batch, self._outgoing = self._outgoing, []
                        for payload in payloads(self.origin, batch):
                            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
                        sent_at = loop.time()
                        continue
                    self._send_now.clear()
                    woken = asyncio.ensure_future(self._send_now.wait())
                    ended = asyncio.ensure_future(lost.wait())
                    done, _ = await asyncio.wait((woken, ended), timeout=check_every,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    ended.cancel()
                    if not done:  # a silent network drop shows only when we ask something
                        await conn.fetchval("SELECT 1", timeout=check_every)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: reconnect after a pause
                log.warning("event listener lost its connection (%s); reconnecting", type(exc).__name__)
            finally:
                self.listening = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy's postgresql+asyncpg://… as the plain DSN asyncpg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
