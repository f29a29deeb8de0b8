"""Periodic jobs (the purge) run once per period in the whole cluster, not once per process."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.app import Services
from bot.periodic import claim_period
from bot.storage.migrate import upgrade
from tests.conftest import POSTGRES_URL

EVERY_MS = 400
ROOT = Path(__file__).resolve().parents[2]


async def test_a_period_is_claimed_once_whoever_asks(services: Services) -> None:
    claims = await asyncio.gather(*(services.store.run(lambda s: claim_period(s, "purge", 7)) for _ in range(8)))
    assert claims.count(True) == 1
    assert await services.store.run(lambda s: claim_period(s, "purge", 8)), "the next period is free again"
    assert await services.store.run(lambda s: claim_period(s, "other-job", 7)), "periods are per job"


@pytest.mark.skipif(not POSTGRES_URL, reason="several processes share a database only on PostgreSQL "
                    "(BAKEN_TEST_POSTGRES_URL is not set)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_processes_run_each_period_once_between_them(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.bot.periodic_worker", database_url,
                                                  str(EVERY_MS), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
             for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"ready"
        await asyncio.sleep(EVERY_MS / 1000 * 14)
    finally:
        for proc in procs:
            proc.terminate()
    outputs = [(await proc.communicate())[0].decode().split() for proc in procs]
    ran = [[int(p) for w, p in zip(out[::2], out[1::2], strict=True) if w == "ran"] for out in outputs]
    together = Counter(p for periods in ran for p in periods)
    assert together and max(together.values()) == 1, "no period ran twice"
    first, last = min(together), max(together)
    assert sorted(together) == list(range(first, last + 1)), "no period was skipped while both were up"
    assert last - first >= 10
