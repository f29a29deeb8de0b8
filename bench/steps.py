"""Performance figures, printed (never asserted): a flow step alone and a stored step on SQLite.

Run: `make bench` or `.venv/bin/python -m bench.steps [--steps N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bot.app import build_services
from bot.dispatch import Envelope
from bot.settings import Settings
from flows.engine import default_engine, fresh_data
from flows.messages import Inbound

# one realistic conversation, replayed: buttons, free text and a ticket
#: a fixed key for benchmark databases only (strong enough for the start-up check, secret to nobody)
BENCH_KEY = "bench-only-Key-0123456789-abcdefghij-KLMNOPQRST"

SCRIPT = [
    "/start", "#go", "#role:parent", "#reason:young_person", "He has changed since the summer.", "#go",
    "#age:16-17", "#tick:withdrawn", "#tick:online", "#go", "#go", "#duration:months", "#go", "#danger:none",
    "#counsellor", "#goal:advice", "#consent",
]


def _inbound(step: str) -> Inbound:
    return Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)


def bench_flow(rounds: int) -> list[float]:
    """µs per step of the engine alone: restore, fire one event, render; no storage."""
    engine = default_engine()
    inbounds = [_inbound(s) for s in SCRIPT]
    per_step: list[float] = []
    for _ in range(rounds):
        state, data = None, None
        t0 = time.perf_counter()
        for inbound in inbounds:
            r = engine.step(state, data, inbound, "nl")
            state, data = r.state, r.data
        per_step.append((time.perf_counter() - t0) / len(inbounds) * 1e6)
    return per_step


async def bench_stored(rounds: int, db_url: str | None) -> list[float]:
    """µs per step through the dispatcher: dedupe insert, row lock, step, encrypt, outbox, commit, delivered."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=db_url, secret_key=BENCH_KEY)
        services = await build_services(settings)
        inbounds = [_inbound(s) for s in SCRIPT]
        per_step: list[float] = []
        try:
            for i in range(rounds):
                t0 = time.perf_counter()
                for j, inbound in enumerate(inbounds):
                    d = await services.dispatcher.handle(Envelope("bench", f"user{i}", inbound, update_key=f"{i}.{j}"))
                    await services.dispatcher.delivered(d.outbox_ids)
                per_step.append((time.perf_counter() - t0) / len(inbounds) * 1e6)
        finally:
            await services.close()
    return per_step


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


async def _seed(data_dir: str, stored: int) -> int:
    """Fill a database with `stored` sessions, as if that many people had talked to Baken."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from bot.storage.models import ConversationSession, utcnow
    from bot.storage.sealed import seal_session

    services = await build_services(Settings(data_dir=Path(data_dir), secret_key=BENCH_KEY))
    try:
        keys, now, data = services.keyring, utcnow(), fresh_data("nl")
        for first in range(0, stored, 5000):
            sids = [keys.pseudonym("bench", f"stored{i}") for i in range(first, min(first + 5000, stored))]

            def unit(s: Session, sids: list[str] = sids) -> None:
                rows = [{"id": sid, "channel": "bench", "state": "", "locale": "", "created_at": now,
                         "updated_at": now, "data": seal_session(keys.conversation(s, sid), sid, "role", data)}
                        for sid in sids]  # each with its own conversation key, as the dispatcher stores them
                s.execute(insert(ConversationSession), rows)

            await services.store.run(unit)
        return stored
    finally:
        await services.close()


async def _serve(data_dir: str, stored: int) -> int:
    """Resident size (KiB) of a fresh process after answering 500 of the stored people."""
    import random

    services = await build_services(Settings(data_dir=Path(data_dir), secret_key=BENCH_KEY))
    try:
        pick = random.Random(7)
        for _ in range(500):
            user = f"stored{pick.randrange(stored)}"
            d = await services.dispatcher.handle(Envelope("bench", user, Inbound.choice("role:parent")))
            await services.dispatcher.delivered(d.outbox_ids)
        return _rss_kib()
    finally:
        await services.close()


def _run(fn: Callable[[str, int], Coroutine[object, object, int]], data_dir: str, stored: int) -> int:
    return asyncio.run(fn(data_dir, stored))


def bench_memory(stored: int) -> int:
    """Seed in one process, serve in a fresh one: only what serving keeps in memory is measured."""
    with tempfile.TemporaryDirectory() as tmp:
        for fn in (_seed, _serve):
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                result = pool.submit(_run, fn, tmp, stored).result()
        return result


def _report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9) - 1] if len(samples) >= 10 else samples[-1]
    print(f"{name:34} median {statistics.median(samples):8.1f} µs   min {samples[0]:8.1f}   p90 {p90:8.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=300, help="conversations replayed for the flow step")
    p.add_argument("--stored-rounds", type=int, default=40, help="conversations replayed through storage")
    p.add_argument("--postgres", default=None, help="also measure against this PostgreSQL URL")
    p.add_argument("--memory", action="store_true", help="resident size with 100 vs 100,000 stored sessions")
    args = p.parse_args()
    if args.memory:
        small, large = bench_memory(100), bench_memory(100_000)
        print(f"RSS after 500 messages, 100 stored sessions:     {small / 1024:7.1f} MiB")
        print(f"RSS after 500 messages, 100,000 stored sessions: {large / 1024:7.1f} MiB "
              f"(+{(large - small) / 1024:.1f} MiB; design §8 budget: < 20 MiB)")
        return
    bench_flow(20)  # warm caches (catalogs, article picks)
    flow = bench_flow(args.rounds)
    _report("flow step (engine only)", flow)
    stored = asyncio.run(bench_stored(args.stored_rounds, None))
    _report("stored step (SQLite, WAL)", stored)
    print(f"stored / flow ratio: {statistics.median(stored) / statistics.median(flow):.1f}x")
    if args.postgres:
        pg = asyncio.run(bench_stored(args.stored_rounds, args.postgres))
        _report("stored step (PostgreSQL)", pg)


if __name__ == "__main__":
    main()
