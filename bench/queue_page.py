"""Server time of the dashboard's queue page with 10,000 open tickets (budget: under 100 ms).

    .venv/bin/python -m bench.queue_page [--tickets 10000] [--rounds 30] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder by default), signs in a supervisor (who sees every
ticket) and a counsellor (who sees those in their languages), then times GET /dashboard/ on the real app
over loopback: the figure includes the HTTP round trip, so it is an upper bound of the server time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench.steps import BENCH_KEY
from bot.counsellors import add_counsellor
from bot.crypto import Keyring
from bot.server import SERVICES, make_app
from bot.settings import Settings
from bot.storage.models import ConsentRecord, Ticket
from bot.storage.sealed import Profile, seal_profile
from handover.consent import CONSENT_VERSION

LEVELS = (("urgent", 3), ("serious", 2), ("concern", 1), ("info", 0))
PASSWORD = "benchmark password 0123"


def fill(s: Session, n: int, keys: Keyring) -> None:
    """Tickets as the dispatcher stores them: each sealed with its own key, the profile sealed too."""
    consent = ConsentRecord(session_id="bench", consent_version=CONSENT_VERSION, locale="nl")
    s.add(consent)
    s.flush()
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(13)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        level, priority = rng.choice(LEVELS)
        created = now - dt.timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        rows.append({
            "session_id": f"bench-{i:05d}", "consent_id": consent.id, "status": rng.choice(("waiting", "waiting",
                                                                                           "claimed")),
            "level": level, "priority": priority, "reasons": "",
            "locale": rng.choice(("nl", "fr", "de", "en")), "role": "", "region": None,
            "goal": "", "summary": b"", "created_at": created, "updated_at": created,
            "review_requested": False, "person_left": False,
        })
    s.execute(insert(Ticket), rows)
    profile = Profile(("observed:withdrawal", "observed:violence_ok"), "parent", "flanders", "advice")
    for ticket in s.execute(select(Ticket)).scalars():
        tid = ticket.id or 0
        box = keys.ticket(s, tid)
        ticket.summary = box.seal_text("Role: parent\nAge: 16-17", f"ticket:{ticket.session_id}")
        ticket.profile = seal_profile(box, tid, profile)


async def sign_in(client: TestClient[Any, Any], name: str, secret: str) -> None:
    page = await client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    left = 30 - time.time() % 30  # a code lives only in its own 30-second step: not one about to end
    if left < 3:
        await asyncio.sleep(left + 0.05)
    answer = await client.post("/dashboard/login", allow_redirects=False, data={
        "csrf": token[1], "name": name, "password": PASSWORD, "code": pyotp.TOTP(secret).now()})
    assert answer.headers.get("Location") == "/dashboard/?notice=signed_in", "signed in"


async def time_page(client: TestClient[Any, Any], rounds: int) -> tuple[list[float], int]:
    times: list[float] = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        answer = await client.get("/dashboard/")
        body = await answer.read()
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
        assert answer.status == 200
    return times, size


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        settings = Settings(data_dir=Path(tmp), database_url=url, secret_key=BENCH_KEY,
                            dashboard_dev=True)
        app = make_app(settings)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            services = app[SERVICES]
            started = time.perf_counter()
            await services.store.run(lambda s: fill(s, args.tickets, services.keyring))
            print(f"filled {args.tickets} open tickets in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
            for role, languages in (("supervisor", "nl,fr,de,en"), ("counsellor", "nl,fr")):
                who = await add_counsellor(services.store, services.keyring, role, role=role, languages=languages,
                                           password=PASSWORD, one_time=False)
                client.session.cookie_jar.clear()
                await sign_in(client, role, who.secret)
                await time_page(client, 3)  # warm the template cache and the connection
                times, size = await time_page(client, args.rounds)
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"queue page as {role:<10} ({languages}): median {statistics.median(times):6.1f} ms, "
                      f"p95 {p95:6.1f} ms over {args.rounds} requests; {size / 1024:.0f} KiB "
                      f"(budget: 100 ms)")
        finally:
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
