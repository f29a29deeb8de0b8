"""Several `baken serve` processes on one PostgreSQL: relay latency between processes, and SIGKILL restarts.

    .venv/bin/python -m bench.scale_out --database postgresql+asyncpg://root@127.0.0.1:5432/<db> \
        [--sockets 1000] [--rounds 200] [--updates 100000] [--kills 10] [--processes 3]

1. Relay: process A serves the counsellor's dashboard (signed in over HTTP), process B the person's web chat,
   with `--sockets` other web chat sockets open on B. Each round the counsellor posts a reply on A; the clock
   runs until the person's socket on B shows it. Prints p50/p90/p99/max (target p99 < 25 ms).
2. Kills: `--processes` processes take Telegram webhook updates from many chats, each chat sending one update
   at a time (as Telegram does) to a random live process and retrying on another when a request fails; every
   `updates / (kills + 1)` updates a random process is SIGKILLed and started again. Prints updates/s, and
   lost (never recorded as handled), doubled (a chat's final state differs from its updates stepped once,
   in order, on a fresh database) and out of order (a chat's updates recorded in another order than sent).

Each part runs on a fresh database created next to the one named (and dropped after). Printed, never
asserted; the machine is shared, so figures move between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlmodel import col

from bench.cluster import BotAPI, Counsellor, Node, Tab, start_nodes, texts
from bench.ordering import LOCALES, SCRIPTS, Chat, _replay, update_of
from bench.scratch import create_database, drop_database
from bench.steps import BENCH_KEY

PASSWORD = "correct horse battery staple"


@dataclass
class KillResult:
    updates: int
    seconds: float
    kills: int
    retries: int
    lost: int
    doubled: int
    out_of_order: int

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def kill_run(database_url: str, secret: str, root: Path, api: BotAPI, *, processes: int, chats: int,
                   updates: int, kills: int, rng: random.Random) -> KillResult:
    from bot.app import build_services
    from bot.channels.telegram.webhook import webhook_secret
    from bot.settings import Settings
    from bot.storage.models import InboundSeen

    nodes = await start_nodes(processes, database_url, secret, root, api_url=api.url)
    settings = Settings(data_dir=root / "reader", database_url=database_url, secret_key=secret,
                        telegram_token="42:cluster-token", telegram_webhook_url="https://cluster.invalid/x")
    header = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(settings)}
    per_chat = max(1, updates // chats)
    people = []
    for n in range(chats):
        chat = Chat(7_600_000_000 + n, n % len(SCRIPTS), LOCALES[n % len(LOCALES)])
        script = SCRIPTS[chat.script]
        chat.updates = [update_of(chat.chat_id, chat.locale, script[i % len(script)]) for i in range(per_chat)]
        people.append(chat)
    total = per_chat * chats
    done = retries = killed = 0
    restarting: set[int] = set()
    progress = asyncio.Event()

    async def one_chat(http: aiohttp.ClientSession, chat: Chat) -> None:
        nonlocal done, retries
        for update in chat.updates:
            while True:
                live = [n for n in nodes if n.port not in restarting] or nodes
                node = rng.choice(live)
                try:
                    async with http.post(f"{node.base}/telegram/webhook", json=update, headers=header,
                                         timeout=aiohttp.ClientTimeout(total=30)) as response:
                        if response.status == 200:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                retries += 1  # as Telegram does: the update comes again, perhaps to another process
                await asyncio.sleep(0.05)
            done += 1
            progress.set()

    async def killer() -> None:
        nonlocal killed
        for k in range(kills):
            while done < (k + 1) * total // (kills + 1):
                progress.clear()
                await progress.wait()
            node: Node = rng.choice(nodes)
            restarting.add(node.port)
            node.kill()
            assert node.proc is not None
            await node.proc.wait()
            killed += 1
            await node.start()
            restarting.discard(node.port)

    began = time.perf_counter()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            killing = asyncio.create_task(killer())
            await asyncio.gather(*(one_chat(http, c) for c in people))
            await killing
        seconds = time.perf_counter() - began
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))
    services = await build_services(settings, migrate=False)
    try:
        async with services.sessions() as s:
            handled = [int(k) for k in (await s.execute(
                select(col(InboundSeen.key)).where(col(InboundSeen.channel) == "telegram")
                .order_by(col(InboundSeen.id)))).scalars()]
        states = {c.chat_id: await services.dispatcher.load_state("telegram", str(c.chat_id)) for c in people}
    finally:
        await services.close()
    position = {u: i for i, u in enumerate(handled)}
    lost = sum(1 for c in people for u in c.updates if u["update_id"] not in position)
    out_of_order = sum(1 for c in people if [position.get(u["update_id"], -1) for u in c.updates]
                       != sorted(position.get(u["update_id"], -1) for u in c.updates))
    folder = root / f"replay-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    replayed = await _replay(people, {c.chat_id: c.updates for c in people}, folder)
    doubled = (len(handled) - len(set(handled))
               + sum(1 for c in people if states[c.chat_id] != replayed[c.chat_id][0]))
    return KillResult(total, seconds, killed, retries, lost, doubled, out_of_order)


async def relay_run(database_url: str, secret: str, root: Path, *, sockets: int, rounds: int
                    ) -> tuple[list[float], list[float]]:
    """Milliseconds from the counsellor's POST on process A to the person's socket on process B, and of the
    POST alone (A stores the reply: one transaction and its commit)."""
    from bot.app import build_services
    from bot.counsellors import add_counsellor
    from bot.settings import Settings

    a, b = await start_nodes(2, database_url, secret, root, api_url=None)
    services = await build_services(Settings(data_dir=root / "desk", database_url=database_url, secret_key=secret),
                                    migrate=False)
    try:
        enrolment = await add_counsellor(services.store, services.keyring, "anna", role="counsellor",
                                         languages="en,nl", password=PASSWORD, alias="Anna", one_time=False)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         connector=aiohttp.TCPConnector(limit=0)) as http:
            idle: list[Tab] = []
            for start in range(0, sockets, 50):
                idle += await asyncio.gather(*(Tab.open(http, b) for _ in range(min(50, sockets - start))))
            person = await Tab.open(http, b)
            await person.ask_for_a_counsellor()
            anna = Counsellor(http, a)
            await anna.sign_in("anna", PASSWORD, enrolment.secret)
            ticket = await anna.take_next()
            assert ticket is not None
            await person.until("messages")
            latencies, posts = [], []
            for n in range(rounds):
                began = time.perf_counter()
                await anna.reply(ticket, f"Round {n}.")
                posts.append((time.perf_counter() - began) * 1000)
                seen = ""
                while f"Round {n}." not in seen:
                    seen += texts(await person.until("messages"))
                latencies.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(0.02)
            for tab in [*idle, person]:
                await tab.close()
            return latencies, posts
    finally:
        await services.close()
        await asyncio.gather(a.stop(), b.stop())


async def fresh_database(base_url: str) -> str:
    return await create_database(base_url, "scale")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    from bot.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.rounds:
            url = await fresh_database(args.database)
            try:
                await asyncio.to_thread(upgrade, url)
                ms, posts = await relay_run(url, BENCH_KEY, root / "relay", sockets=args.sockets, rounds=args.rounds)
            finally:
                await drop_database(url)
            print(f"relay, counsellor on process A -> person's web chat on process B, {args.sockets} other sockets "
                  f"open on B, {len(ms)} rounds: p50 {statistics.median(ms):.1f} ms, p90 {percentile(ms, 90):.1f}, "
                  f"p99 {percentile(ms, 99):.1f}, max {max(ms):.1f} (target p99 < 25 ms); of which the POST on A "
                  f"(store + commit): p50 {statistics.median(posts):.1f} ms, p99 {percentile(posts, 99):.1f}")
        if args.updates:
            url = await fresh_database(args.database)
            api = BotAPI()
            await api.start()
            try:
                await asyncio.to_thread(upgrade, url)
                r = await kill_run(url, BENCH_KEY, root / "kills", api, processes=args.processes, chats=args.chats,
                                   updates=args.updates, kills=args.kills, rng=random.Random(args.seed))
            finally:
                await api.close()
                await drop_database(url)
            sends = Counter(s.method for s in api.sent)
            print(f"kills: {r.updates} updates through {args.processes} processes, {r.kills} SIGKILL restarts, "
                  f"{r.seconds:.0f} s ({r.rate:.0f} updates/s incl. restarts), {r.retries} retried requests: "
                  f"lost {r.lost}, doubled {r.doubled}, out of order {r.out_of_order}  "
                  f"(Bot API calls: {dict(sends)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="postgresql+asyncpg://… (new databases are made beside)")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
