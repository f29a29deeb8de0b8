"""Background duties of a running server: purge what has expired, every hour."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from bot.storage.retention import purge
from bot.storage.store import Store

log = logging.getLogger("baken.housekeeping")


@contextlib.asynccontextmanager
async def purging(
    store: Store,
    every: dt.timedelta = dt.timedelta(hours=1),
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                counts = await purge(store, clock())
                if any(counts.values()):
                    log.info("purged %s idle session(s) and %s closed ticket(s)", counts["sessions"], counts["tickets"])
            except Exception:  # a failed purge must not stop the server; it is retried next hour
                log.exception("purge failed")
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(loop(), name="baken-purge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
