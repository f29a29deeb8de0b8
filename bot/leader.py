"""One sender for the whole cluster: out-of-band Telegram sends run in the one process holding a lock.

Why: Telegram allows a bot about 30 messages a second and one a second per chat. Each process's rate
limiter knows only its own sends, so N processes each relaying counsellors' messages could send N × 30 a
second. The relay pumps for Telegram (counsellors' messages, notices to the counsellors' group) therefore run
only in the process that holds a PostgreSQL session-level advisory lock, taken on a connection of its own.
When that process dies, PostgreSQL ends its session and frees the lock; another process takes it within
`retry` seconds and starts the pumps (they read the outbox, so nothing waiting is lost). A holder that loses
its connection stops its pumps at once: it can no longer know it is the only one.

On SQLite there is one process: it is always the sender.

The same connection counts the live processes every second (each holds one such connection, sender or not):
`on_members` hears the count, and each process then sends at most its share of the bot-wide limit
(bot/channels/telegram/budget.py). The processes must share one database role (they see each other's
connections in pg_stat_activity); when the count cannot be read, the last one stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.events import asyncpg_dsn
from bot.storage.database import is_sqlite

log = logging.getLogger("baken.leader")

#: pg_advisory_lock's key for "the Telegram sender" (any constant; the same in every process)
SENDER_LOCK = 0x6261_6B65_6E01  # "baken" + 1
APPLICATION_NAME = "baken-sender"  # the lock's connection, findable in pg_stat_activity (with the process id)


class Leadership:
    """Runs `work()` (an async context: start on enter, stop on exit) while this process holds the lock."""

    def __init__(self, url: str, work: Callable[[], AbstractAsyncContextManager[Any]], *, key: int = SENDER_LOCK,
                 retry: float = 1.0, check: float = 1.0, on_members: Callable[[int], None] | None = None) -> None:
        self.url, self.work, self.key = url, work, key
        self.retry, self.check = retry, check
        self.on_members = on_members
        self.members = 1  # live processes, as last counted
        self.leading = asyncio.Event()
        self.terms = 0  # how many times this process became the sender

    async def run(self) -> None:
        if is_sqlite(self.url):
            async with self.work():
                self.leading.set()
                self.terms += 1
                await asyncio.Event().wait()  # until cancelled
        import asyncpg

        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=10, server_settings={
                    "application_name": f"{APPLICATION_NAME}-{os.getpid()}"})
                await self._acquire(conn)
                self.terms += 1
                log.info("this process is now the Telegram sender")
                async with self.work():
                    self.leading.set()
                    try:
                        while True:  # the lock lives as long as this session: watch the session
                            await asyncio.sleep(self.check)
                            await self._count(conn, within=max(self.check, 2.0))
                    finally:
                        self.leading.clear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: stop sending, try again
                log.warning("sender election lost its connection (%s); trying again", type(exc).__name__)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()  # frees the lock at once if we held it
            await asyncio.sleep(self.retry)


    async def _acquire(self, conn: Any) -> None:
        """Returns once this session holds the lock: asks again every `retry` seconds."""
        for _ in iter(int, 1):  # for ever: someone else holds it
            await self._count(conn, within=10)
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key, timeout=10):
                return
            await asyncio.sleep(self.retry)

    async def _count(self, conn: Any, *, within: float) -> None:
        """How many processes are alive: one such connection each, in this database."""
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1",
            f"{APPLICATION_NAME}-%", timeout=within)
        self.members = max(1, int(found or 0))
        if self.on_members is not None:
            self.on_members(self.members)


@contextlib.asynccontextmanager
async def leading(leadership: Leadership) -> AsyncIterator[Leadership]:
    task = asyncio.create_task(leadership.run(), name="baken-sender-election")
    try:
        yield leadership
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
