"""A process that takes part in the periodic schedule and prints each period it ran (for test_periodic)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from bot.periodic import run_periodically
from bot.storage.database import make_engine
from bot.storage.store import Store


async def main(url: str, every_ms: int) -> None:
    every = dt.timedelta(milliseconds=every_ms)
    store = Store(url, make_engine(url))

    async def job(period: int) -> None:
        print(f"ran {period}", flush=True)
        await asyncio.sleep(every.total_seconds() / 4)  # a job takes time: others must not start it meanwhile

    print("ready", flush=True)
    await run_periodically(store, "test-job", every, job, jitter=0.0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
