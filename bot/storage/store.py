"""One unit of work = one transaction, run as plain synchronous code.

Why: through SQLAlchemy's aiosqlite adapter every statement costs about four thread hops (cursor, execute,
fetch, close), measured here at ~0.5 ms a statement and ~5 ms a stored step. Running the whole unit of work
in the one SQLite writer thread costs one hop, and that thread keeps its one connection open: no pool
checkout, reset and return per unit of work (about a third of an empty unit's cost). On PostgreSQL the same
function runs through `run_sync` over asyncpg, which needs no threads at all.

Group commit (SQLite): units that queue up while the writer is busy run together in one transaction, each in
a savepoint of its own (one that fails rolls back alone), with one commit for all. Under load the writer
thread's commits and wake-ups stop growing with the number of updates.

At once (SQLite): a unit that finds the writer idle and nothing queued runs on the caller's thread, on a
connection of its own that never waits for the database's lock (busy timeout 0): when another process holds
it, the unit goes to the writer thread instead, which waits there, never on the event loop. This spares the
two thread hops (submit, then wake the loop), measured at 60-90 µs of CPU an update, a tenth of a stored step.
That connection never checkpoints on commit either: a checkpoint syncs to disk, which must not hold up the event
loop. A thread of its own, on a third connection, checkpoints every `CHECKPOINT_EVERY` such commits. It is not
the writer thread: a passive checkpoint waits for no writer, and run by the writer (20-40 ms each time, measured
under load) it held up every unit queued behind it, a reply-time spike every two seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.events import CHANNEL, Events, collected, payloads
from bot.storage.database import is_sqlite, sqlite_pragmas
from bot.storage.repository import Contention

T = TypeVar("T")
log = logging.getLogger("baken.store")
#: how often a unit of work that met a concurrent writer (Contention) is run again before the error stands
ATTEMPTS = 3
#: at most this many queued units share one transaction (a batch holds SQLite's write lock while it runs)
MAX_BATCH = 32
#: the checkpoint thread copies the WAL into the database after this many commits made at once
CHECKPOINT_EVERY = 500
_Queued = tuple[Callable[[Session], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


class Store:
    """Runs `fn(session)` inside one transaction and returns its result; rolls back if it raises.

    A unit that raises Contention is rolled back and run again from the start (it must be safe to repeat:
    everything it did was rolled back), so a race a unit detects never reaches a person as an error.
    """

    def __init__(self, url: str, async_engine: AsyncEngine) -> None:
        self._sync: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None  # SQLite: the writer's connection, used in the writer thread only
        self._checkpointer: ThreadPoolExecutor | None = None
        self._ckpt_conn: Connection | None = None  # SQLite: the checkpoint thread's connection, used there only
        self._checkpointing = False  # a passive checkpoint is submitted and has not finished
        self._sessions = async_sessionmaker(async_engine, class_=AsyncSession, expire_on_commit=False)
        self._engine = async_engine
        self._rewrite_lock = asyncio.Lock()
        self._retry: asyncio.Task[None] | None = None
        #: what units of work announce (bot/events.py): NOTIFY with the commit on PostgreSQL, and this
        #: process's waiters woken right after the commit on either database
        self.events = Events()
        self.notify = True  # False only in the benchmark that measures what NOTIFY costs
        if is_sqlite(url):
            sync_url = make_url(url).set(drivername="sqlite+pysqlite")
            # three connections: the writer thread's, the one for units run at once, and the checkpoint thread's
            self._sync = create_engine(sync_url, connect_args={"timeout": 30, "check_same_thread": False},
                                       hide_parameters=True, pool_size=3, max_overflow=0)
            sqlite_pragmas(self._sync)
            # SQLite has one writer: one thread for every unit of work keeps them in order and cheap
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baken-sqlite")
            self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baken-sqlite-checkpoint")
        self._queued: deque[_Queued] = deque()  # units waiting for the writer (appended and popped atomically)
        self.largest_batch = 0  # the most units that shared one transaction so far (for tests and benches)
        self._draining = False  # a drain is submitted and has not yet taken the queue
        #: held by whoever runs units (the writer thread, or a caller running one at once): never both
        self._running = threading.Lock()
        self._now: Connection | None = None  # SQLite: the connection for units run at once
        self.at_once = True  # False runs every unit in the writer thread (tests and benches compare)
        self.ran_at_once = 0  # units run at once so far (tests and benches)
        self._unchecked = 0  # commits made at once since the last passive checkpoint was submitted

    @property
    def is_sqlite(self) -> bool:
        return self._sync is not None

    async def run(self, fn: Callable[[Session], T]) -> T:
        for _ in range(ATTEMPTS - 1):
            try:
                return await self._run_once(fn)
            except Contention:
                continue
        return await self._run_once(fn)

    async def _run_once(self, fn: Callable[[Session], T]) -> T:
        ran = self._at_once(fn) if self.at_once and self._sync is not None and not self._queued else None
        if ran is not None:
            result, events = ran
            await asyncio.sleep(0)  # a caller running many units in a row (a purge) still lets others in
        elif self._sync is not None and self._executor is not None:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[tuple[T, list[Any]]] = loop.create_future()
            self._queued.append((fn, done, loop))
            if not self._draining:  # else the writer's drain in hand takes this unit too: no wake-up per unit
                self._draining = True
                self._executor.submit(self._drain)
            result, events = await done
        else:
            async with self._sessions() as session:
                async with session.begin():
                    result = await session.run_sync(fn)
                    events = collected(session.sync_session)
                    in_commit = self.notify and not self.events.after_commit
                    for payload in payloads(self.events.origin, events) if in_commit else ():
                        # sent by PostgreSQL at commit, and only if the transaction commits
                        await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                                              {"channel": CHANNEL, "payload": payload})
        if events:
            if self.notify and self.events.after_commit and not self.is_sqlite:
                self.events.send_after_commit(events)
            self.events.publish(events)
        return result

    def _at_once(self, fn: Callable[[Session], T]) -> tuple[T, list[Any]] | None:
        """Run the unit now on this thread if the writer is idle and the database's lock free; else None (and
        nothing of it stored): it goes to the writer thread."""
        if self._draining or not self._running.acquire(blocking=False):
            return None
        try:
            if self._now is None or self._now.closed or self._now.invalidated:
                self._now = self._connect_at_once()
            try:
                ran = self._run_on(self._now, fn)
            except (OperationalError, sqlite3.OperationalError) as exc:
                cause = exc.orig if isinstance(exc, OperationalError) else exc
                if isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause):
                    return None  # another process holds the lock: the writer thread waits for it
                raise
        finally:
            self._running.release()
        self.ran_at_once += 1
        self._unchecked += 1
        if self._unchecked >= CHECKPOINT_EVERY and self._checkpointer is not None and not self._checkpointing:
            self._unchecked = 0
            self._checkpointing = True
            self._checkpointer.submit(self._passive_checkpoint)
        return ran

    def _connect_at_once(self) -> Connection:
        assert self._sync is not None
        conn = self._sync.connect()
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=0")  # never wait on the event loop: the writer thread will
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # no disk sync on the event loop
        finally:
            cursor.close()
        return conn

    def _passive_checkpoint(self) -> None:
        """In the checkpoint thread: copy what the WAL holds into the database, without waiting for anyone and
        without holding up a unit of work (SQLite lets one checkpointer run beside the writer)."""
        try:
            if self._ckpt_conn is None or self._ckpt_conn.closed or self._ckpt_conn.invalidated:
                assert self._sync is not None
                self._ckpt_conn = self._sync.connect()
            _checkpoint_wal(self._ckpt_conn, "PASSIVE")
        except (OperationalError, sqlite3.OperationalError) as exc:  # the next round tries again
            log.warning("passive WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            self._checkpointing = False

    def _writer(self) -> Connection:
        """The writer thread's connection, opened again if it was closed or invalidated."""
        assert self._sync is not None
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._sync.connect()
        return self._conn

    def _run_sync(self, fn: Callable[[Session], T]) -> tuple[T, list[Any]]:
        return self._run_on(self._writer(), fn)

    @staticmethod
    def _run_on(conn: Connection, fn: Callable[[Session], T]) -> tuple[T, list[Any]]:
        # the connection's own transaction (BEGIN IMMEDIATE, then COMMIT, or ROLLBACK if the unit raises); the
        # unit gets an ORM session only if it asks for more than the connection (see LazySession)
        with conn.begin():
            return _in_lazy_session(conn, fn)

    def _drain(self) -> None:
        """In the writer thread: run what is queued, a transaction per batch, until the queue is empty."""
        while True:
            # cleared before taking the queue: a unit queued after this submits a drain of its own
            self._draining = False
            with self._running:  # taken before the queue: a unit run at once never overtakes a queued one
                batch = [self._queued.popleft() for _ in range(min(MAX_BATCH, len(self._queued)))]
                if not batch:
                    return
                self._run_queued(batch)

    def _run_queued(self, batch: list[_Queued]) -> None:
        """One transaction for the batch; settle each unit's future on its loop."""
        self.largest_batch = max(self.largest_batch, len(batch))
        outcomes: list[tuple[Any, BaseException | None]] = []
        if len(batch) == 1:
            try:
                outcomes.append((self._run_sync(batch[0][0]), None))
            except Exception as exc:
                outcomes.append((None, exc))
        else:
            try:
                outcomes = self._run_batch([fn for fn, _, _ in batch])
            except Exception as exc:  # BEGIN or COMMIT failed: none of the batch is stored
                outcomes = [(None, exc)] * len(batch)
        for (_, done, loop), (result, error) in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, done, result, error)

    def _run_batch(self, units: list[Callable[[Session], Any]]) -> list[tuple[Any, BaseException | None]]:
        conn = self._writer()
        outcomes: list[tuple[Any, BaseException | None]] = []
        with conn.begin():
            for fn in units:
                try:
                    with conn.begin_nested():  # its own savepoint
                        outcomes.append((_in_lazy_session(conn, fn), None))
                except Exception as exc:  # rolled back to its savepoint, its events dropped: the others stand
                    outcomes.append((None, exc))
        return outcomes

    async def after_erasure(self) -> None:
        """Make a committed erasure physical, as far as the database allows.

        SQLite: copy the WAL into the database and truncate it, so erased rows do not linger in the WAL
        file; with `secure_delete` on, the freed cells are zeroed. PostgreSQL: a deleted row stays in its
        page as a dead tuple until VACUUM, and plain VACUUM leaves its bytes in the page's free space; the
        erased texts there are unreadable once their key is gone, but the key's own dead tuple would still
        open them. So the small `data_keys` table is rewritten (VACUUM FULL) at once, and again in the
        background while a transaction older than the erasure keeps the dead row alive.
        """
        if self._sync is not None and self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint)
            return
        async with self._rewrite_lock:
            if await self._rewrite_keys():
                return
        # a transaction older than the erasure is still open somewhere in the cluster: PostgreSQL keeps the
        # dead row for it. Try again in the background until it is gone.
        if self._retry is None or self._retry.done():
            self._retry = asyncio.create_task(self._rewrite_until_clean(), name="baken-erasure-rewrite")

    async def _rewrite_until_clean(self, every: float = 0.5, tries: int = 240) -> None:
        for _ in range(tries):
            await asyncio.sleep(every)
            async with self._rewrite_lock:
                if await self._rewrite_keys():
                    return
        log.warning("erased data keys still wait in the table's pages: a long transaction holds them")

    async def _rewrite_keys(self) -> bool:
        """VACUUM FULL the key table; True when no erased key's row was kept back."""
        kept: list[int] = []
        refused: list[str] = []

        def listen(_conn: Any, message: Any) -> None:
            said = f"{getattr(message, 'message', '')} {getattr(message, 'detail', '')}"
            found = re.search(r"(\d+) dead row versions cannot be removed yet", said)
            if found:
                kept.append(int(found[1]))
            if "skipping" in said:  # not the table's owner (before PostgreSQL 17) nor granted MAINTAIN
                refused.append(said)

        try:
            async with self._engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                raw: Any = (await auto.get_raw_connection()).driver_connection
                raw.add_log_listener(listen)
                try:
                    # never queue the conversations behind a long transaction: give up quickly, retry later
                    await auto.exec_driver_sql("SET lock_timeout = '500ms'")
                    await auto.exec_driver_sql("VACUUM (FULL, VERBOSE) data_keys")
                finally:
                    raw.remove_log_listener(listen)
                    await auto.exec_driver_sql("RESET lock_timeout")  # the connection goes back to the pool
        except Exception:  # the lock was busy, or the database briefly away: the retry comes
            log.warning("could not rewrite the data key table after an erasure; will retry")
            return False
        if refused:  # retrying cannot help: say once per erasure what the operator must grant
            log.error("the database role may not rewrite data_keys, so erased keys stay in its pages until "
                      "autovacuum reuses them: run `baken db upgrade` with BAKEN_MIGRATION_DATABASE_URL, which "
                      "grants it (docs/deploy.md, section 2)")
        return not any(kept)

    async def wait_for_erasure(self) -> None:
        """For tests and tools: until the background rewrite (if any) has finished."""
        if self._retry is not None:
            await self._retry

    def _checkpoint(self) -> None:
        # a reader elsewhere can hold the WAL: wait a second at most, never the writer's 30 (the erased rows in a
        # WAL left behind are sealed under destroyed keys all the same)
        with self._running:
            _checkpoint_wal(self._writer(), "TRUNCATE", busy_ms=1000)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._now is not None:
            with self._running:
                self._now.close()
                self._now = None

    def _close_checkpoint_connection(self) -> None:
        if self._ckpt_conn is not None:
            self._ckpt_conn.close()
            self._ckpt_conn = None

    async def close(self) -> None:
        if self._retry is not None and not self._retry.done():
            self._retry.cancel()
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(self._checkpointer, self._close_checkpoint_connection)
            self._checkpointer.shutdown(wait=True)
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
            self._executor.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()


def _checkpoint_wal(conn: Connection, mode: str, busy_ms: int | None = None) -> None:
    """On the driver's connection, outside SQLAlchemy's transaction (a checkpoint cannot run inside one);
    `busy_ms` replaces the connection's 30 s busy timeout while it runs."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        if busy_ms is not None:
            cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.execute(f"PRAGMA wal_checkpoint({mode})")
        cursor.fetchall()
    finally:
        if busy_ms is not None:
            cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _in_lazy_session(conn: Connection, fn: Callable[[Session], T]) -> tuple[T, list[Any]]:
    """Run a unit inside the connection's transaction (or savepoint) the caller holds."""
    unit = LazySession(conn)
    try:
        result = fn(cast(Session, unit))
        unit.flush_and_close()
    except BaseException:
        unit.close()
        raise
    return result, collected(cast(Session, unit))


class LazySession:
    """What a unit of work gets on SQLite in place of an ORM Session, inside the connection's transaction.

    Why: an ORM Session's transaction machinery (begin, commit, close) costs about 90 µs a unit here, against
    15 µs for the connection's own BEGIN and COMMIT, and the statements every message runs go to the driver
    anyway (Repository.raw). So the connection, its dialect and `info` are answered at once, and the first use
    of anything else (execute, add, get, flush…) makes a real Session joined to the connection's transaction,
    used from then on: the unit behaves exactly as with a Session, and pays for one only when it needs it.
    """

    def __init__(self, conn: Connection) -> None:
        self.bind = conn
        self._session: Session | None = None
        self._info: dict[Any, Any] = {}

    @property
    def info(self) -> dict[Any, Any]:
        return self._info

    def connection(self, *_args: Any, **_kwargs: Any) -> Connection:
        return self.bind

    def _real(self) -> Session:
        if self._session is None:
            # joined to the connection's transaction: its commit() is not the unit's (the connection commits
            # when the unit is done); its rollback() is, or only its savepoint's inside a batch (conditional)
            session = Session(self.bind, expire_on_commit=False, join_transaction_mode="conditional_savepoint")
            session.info.update(self._info)
            self._info = session.info  # one dict: what either side announced is found by `collected`
            self._session = session
        return self._session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def flush_and_close(self) -> None:
        """The unit is done: what it added is written before the connection commits. The session's commit
        commits nothing of the connection's: it flushes, and inside a batch releases the session's own savepoint
        (closing without it would roll that savepoint back)."""
        if self._session is not None:
            self._session.commit()
            self._session.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.done():  # its caller was cancelled: the unit ran (or not) all the same
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
