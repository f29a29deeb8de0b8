"""One unit of work = one transaction, run as plain synchronous code.

Why: through SQLAlchemy's aiosqlite adapter every statement costs about four thread hops (cursor, execute,
fetch, close), measured here at ~0.5 ms a statement and ~5 ms a stored step. Running the whole unit of work
in the one SQLite writer thread costs one hop, and that thread keeps its one connection open: no pool
checkout, reset and return per unit of work (about a third of an empty unit's cost). On PostgreSQL the same
function runs through `run_sync` over asyncpg, which needs no threads at all.
"""

from __future__ import annotations

import asyncio
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
#: how often a unit of work that met a concurrent writer (Contention) is run again before the error stands
ATTEMPTS = 3


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
            result, events = await loop.run_in_executor(self._executor, self._run_sync, fn)
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

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
            self._executor.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()

