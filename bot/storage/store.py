"""One unit of work = one transaction, run as plain synchronous code.

Why: through SQLAlchemy's aiosqlite adapter every statement costs about four thread hops (cursor, execute,
fetch, close), measured here at ~0.5 ms a statement and ~5 ms a stored step. Running the whole unit of work
in the one SQLite writer thread costs one hop, and that thread keeps its one connection open: no pool
checkout, reset and return per unit of work (about a third of an empty unit's cost). On PostgreSQL the same
function runs through `run_sync` over asyncpg, which needs no threads at all.

Group commit (SQLite): units that queue up while the writer is busy run together in one transaction, each in
a savepoint of its own (one that fails rolls back alone), with one commit for all. Under load the writer
thread's commits and wake-ups stop growing with the number of updates; a unit alone runs as before.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
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
            self._sync = create_engine(sync_url, connect_args={"timeout": 30, "check_same_thread": False},
                                       hide_parameters=True, pool_size=1, max_overflow=0)
            sqlite_pragmas(self._sync)
            # SQLite has one writer: one thread for every unit of work keeps them in order and cheap
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baken-sqlite")
        self._queued: deque[_Queued] = deque()  # units waiting for the writer (appended and popped atomically)
        self.largest_batch = 0  # the most units that shared one transaction so far (for tests and benches)
        self._draining = False  # a drain is submitted and has not yet taken the queue

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
        if self._sync is not None and self._executor is not None:
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

    def _run_sync(self, fn: Callable[[Session], T]) -> tuple[T, list[Any]]:
        assert self._sync is not None
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._sync.connect()
        # the session begins (BEGIN IMMEDIATE) and commits or rolls back the connection's transaction
        with Session(self._conn, expire_on_commit=False) as session:
            with session.begin():
                result = fn(session)
                events = collected(session)
            return result, events

    def _drain(self) -> None:
        """In the writer thread: run what is queued, a transaction per batch, until the queue is empty."""
        while True:
            # cleared before taking the queue: a unit queued after this submits a drain of its own
            self._draining = False
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
        assert self._sync is not None
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._sync.connect()
        outcomes: list[tuple[Any, BaseException | None]] = []
        with self._conn.begin():
            for fn in units:
                try:
                    with Session(self._conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
                                 ) as session:
                        with session.begin():
                            result = fn(session)
                            events = collected(session)
                        outcomes.append(((result, events), None))
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
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._sync.connect() if self._sync is not None else None
        if self._conn is None:
            return
        # on the driver's connection, outside SQLAlchemy's transaction (a checkpoint cannot run inside one)
        raw = self._conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            # a reader elsewhere can hold the WAL: wait a second at most, never the writer's 30 (the erased rows
            # in a WAL left behind are sealed under destroyed keys all the same)
            cursor.execute("PRAGMA busy_timeout=1000")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.fetchall()
        finally:
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._retry is not None and not self._retry.done():
            self._retry.cancel()
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
            self._executor.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()


def _settle(done: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if done.done():  # its caller was cancelled: the unit ran (or not) all the same
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
