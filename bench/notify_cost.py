"""What LISTEN/NOTIFY costs in commit throughput on PostgreSQL (target: at most 10 %).

    .venv/bin/python -m bench.notify_cost --url postgresql+asyncpg://root@127.0.0.1:5432/<db> [--seconds 5]

The unit of work is what notifies most: a counsellor's relayed message (one outbox row, one announcement).
Rounds alternate without NOTIFY, with NOTIFY inside the transaction ("commit") and with NOTIFY sent after
the commit by the process's listening connection ("after", Baken's default); same Store, same pool,
at 1 writer and at 8 concurrent writers, while two other "processes" listen (they receive every
notification, as the other `baken serve` processes would). Prints commits/s and the cost in per cent.
The machine is shared: compare the figures of one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from bench.steps import BENCH_KEY
from bot.app import Services, build_services
from bot.settings import Settings
from bot.storage.desk import Desk


async def rate(services: Services, writers: int, seconds: float) -> float:
    payload = b"x" * 120  # the size of a sealed short message
    done = 0
    stop = time.perf_counter() + seconds

    def unit(s: Session) -> None:
        Desk(s).relay("bench-session", "web", payload)

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await services.store.run(unit)
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return done / (time.perf_counter() - began)


async def main(url: str, seconds: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=url, secret_key=BENCH_KEY)
        services = await build_services(settings)
        listeners = [await build_services(settings, migrate=False) for _ in range(2)]
        for other in listeners:
            other.store.events.start_listening(url)
        try:
            await asyncio.sleep(1)
            print(f"NOTIFY cost on PostgreSQL: {rounds} alternating rounds of {seconds:g} s each, "
                  f"{len(listeners)} listening processes")
            services.store.events.start_listening(url)  # the writer's own connection sends in mode "after"
            for writers in (1, 8):
                figures: dict[str, list[float]] = {"none": [], "commit": [], "after": []}
                for _ in range(rounds):
                    for mode, into in figures.items():
                        services.store.notify = mode != "none"
                        services.store.events.mode = mode if mode != "none" else "after"
                        into.append(await rate(services, writers, seconds))
                base = statistics.median(figures["none"])
                line = f"  {writers} writer(s): {base:6.0f} commits/s without NOTIFY"
                for mode in ("commit", "after"):
                    got = statistics.median(figures[mode])
                    line += f"; {mode:>6}: {got:6.0f} ({100 * (base - got) / base:+5.1f} % cost)"
                print(line)
            heard = sum(o.store.events.received for o in listeners)
            print(f"  (medians; 'commit' = pg_notify in the writer's transaction, 'after' = batched by the "
                  f"listening connection after the commit; the listeners heard {heard} notifications)")
            async with services.sessions() as s, s.begin():
                from sqlalchemy import text
                await s.execute(text("DELETE FROM outbox WHERE session_id = 'bench-session'"))
        finally:
            await services.store.events.stop_listening()
            for other in listeners:
                await other.store.events.stop_listening()
                await other.close()
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a PostgreSQL database (postgresql+asyncpg://…)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.seconds, args.rounds))
