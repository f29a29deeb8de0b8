"""Background duties of a running server: purge what has expired, and destroy expired backup keys, hourly.

On SQLite (one process) a plain loop; on PostgreSQL, where several processes may serve, one process of the
cluster purges per hour (bot/periodic.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from bot.backup_keys import BackupKeys
from bot.periodic import run_periodically
from bot.storage.retention import DEFAULT_RETENTION, Retention, purge
from bot.storage.store import Store

log = logging.getLogger("baken.housekeeping")


@contextlib.asynccontextmanager
async def purging(
    store: Store,
    every: dt.timedelta = dt.timedelta(hours=1),
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    policy: Retention = DEFAULT_RETENTION,
    after_each: Callable[[dict[str, int]], None] | None = None,
) -> AsyncIterator[None]:
    """Purge at once, then every hour, until the server stops (on PostgreSQL: once an hour in the cluster)."""

    async def once() -> None:
        counts = await purge(store, clock(), policy)
        if any(counts.values()):
            log.info("purged %s", describe(counts))
        if after_each is not None:
            after_each(counts)

    async def loop() -> None:
        if not store.is_sqlite:
            await run_periodically(store, "purge", every, lambda _period: once())
        while True:
            counts: dict[str, int] = {}
            try:
                counts = await purge(store, clock(), policy)
                if any(counts.values()):
                    log.info("purged %s", describe(counts))
            except Exception:  # a failed purge must not stop the server; it is retried next hour
                log.exception("purge failed")
            if after_each is not None:
                after_each(counts)
            await asyncio.sleep(every.total_seconds())

    async with _in_background(loop(), "baken-purge"):
        yield


@contextlib.asynccontextmanager
async def pruning_backup_keys(
    keys: BackupKeys,
    every: dt.timedelta = dt.timedelta(hours=1),
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> AsyncIterator[None]:
    """Destroy expired backup keys at once, then every hour, in every process: the folder is this machine's,
    and a key must die on time even when no backup is made that day."""

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(keys.prune, clock())
            except OSError:  # retried next hour; the backup command prunes too
                log.exception("pruning backup keys failed")
            await asyncio.sleep(every.total_seconds())

    async with _in_background(loop(), "baken-backup-keys"):
        yield


@contextlib.asynccontextmanager
async def _in_background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `work` while the server runs; cancelled (and awaited) when it stops."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def describe(counts: dict[str, int]) -> str:
    return (
        f"{counts.get('sessions', 0)} idle session(s), {counts.get('tickets', 0)} closed ticket(s) "
        f"and {counts.get('requests', 0)} request(s) left unanswered"
    )
