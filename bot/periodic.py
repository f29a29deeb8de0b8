"""Periodic jobs run by one process of the cluster per period, not by a loop in each process.

Why: with N `baken serve` processes on one PostgreSQL, a loop in each would purge N times an hour (N
transactions deleting the same rows, racing each other). Time is cut into periods of `every` (counted from
the Unix epoch, so every process agrees on them); at the start of each period every process tries to insert
the row (job, period) into `periodic_runs` with ON CONFLICT DO NOTHING, and only the one whose insert went in
runs the job. A process that starts mid-period finds the row taken and waits for the next period. If the
winner dies mid-job, that period's run is lost and the next period's runs it: acceptable for a purge, which
catches up on whatever expired meanwhile.

The same code runs on SQLite, where the one process always wins; `bot/housekeeping.py` keeps its plain
loop there, as before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.storage.models import PeriodicRun, utcnow
from bot.storage.store import Store

log = logging.getLogger("baken.periodic")
KEEP_PERIODS = 48  # rows kept per job: enough to see when it last ran


def claim_period(s: Session, job: str, period: int) -> bool:
    """True for exactly one caller per (job, period), whatever the number of processes asking."""
    dialect = s.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(PeriodicRun).values(job=job, period=period, started_at=utcnow())
            .on_conflict_do_nothing(index_elements=["job", "period"]).returning(col(PeriodicRun.job)))
    won = s.execute(stmt).scalar() is not None
    if won:
        s.execute(delete(PeriodicRun).where(col(PeriodicRun.job) == job,
                                            col(PeriodicRun.period) < period - KEEP_PERIODS))
    return won


def period_of(every: dt.timedelta, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // every.total_seconds())


async def run_periodically(store: Store, job: str, every: dt.timedelta, fn: Callable[[int], Awaitable[object]],
                           *, jitter: float | None = None) -> None:
    """For ever: at each period's start, run `fn(period)` if this process claims it. `fn`'s errors are logged."""
    seconds = every.total_seconds()
    spread = min(2.0, seconds / 10) if jitter is None else jitter
    tried = -1
    while True:
        period = period_of(every)
        if period != tried:
            tried = period
            try:
                won = await store.run(functools.partial(claim_period, job=job, period=period))
            except Exception:  # the database away: this period is skipped, the next one tries again
                log.exception("could not claim %s", job)
                won = False
            if won:
                try:
                    await fn(period)
                except Exception:  # a failed run must not stop the schedule
                    log.exception("%s failed", job)
        # sleep into the next period; a little jitter spreads the processes' claims
        wait = (period + 1) * seconds - time.time()
        await asyncio.sleep(max(0.0, wait) + random.uniform(0, spread))
