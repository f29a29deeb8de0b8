"""One person flooding: does everyone else still get their answers in time? Printed, never asserted.

Baken's webhook server (production's flood gate, its own process, SQLite or PostgreSQL) in front of a canned
Bot API (another process, answering at once and noting when each message was sent). `--people` chats talk
at a person's pace (one message every `--pause` seconds, each answered before the next, as Telegram does)
for `--seconds`; the time from posting an update to its webhook answer is that person's wait for the reply
(the answer comes after the replies went out). Run once calm, then again while one more chat sends
`--rate` messages a second without waiting. Printed: others' p50/p99 calm and during the flood and their
ratio (the target: under 2x), the flooder's statuses, how many slow-down notices the flooder got, and how
long the flooder's own danger phrase, sent in the middle of the flood, took to bring 112 and 101.

Run: `.venv/bin/python -m bench.flood [--people 20] [--seconds 10] [--rate 100]
[--database postgresql+asyncpg://user@host/db]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.ordering import SECRET, TOKEN, _cpu_seconds, _free_port, _start, update_of
from bench.scratch import create_database, drop_database, serve_forever
from bot.storage.migrate import upgrade

FLOODER = 8_100_000_000
DANGER = "Hij zegt dat hij morgen iemand gaat vermoorden."
#: a short conversation that never reaches the queue, looped by each calm person
SCRIPT = ["/start", "#go", "#role:parent", "#reason:young_person", "Hij is veranderd sinds de zomer.", "#go",
          "#age:16-17", "#tick:withdrawn", "#go", "/restart"]


def _serve_api(port: int, ready: Any) -> None:
    """Answers every method at once; notes when each message went to which chat (GET /sent)."""
    # a request cut off by a killed server (bench.soak) is no news: it was never sent
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    message_ids = itertools.count(1)
    sent: list[tuple[float, int, str]] = []
    me = {"id": 42, "is_bot": True, "first_name": "Baken", "username": "BakenBenchBot"}

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "getMe":
            return web.json_response({"ok": True, "result": me})
        if name == "sendMessage":
            form = await request.post()
            chat_id = int(str(form["chat_id"]))
            sent.append((time.time(), chat_id, str(form.get("text", ""))))
            result = {"message_id": next(message_ids), "date": int(time.time()),
                      "chat": {"id": chat_id, "type": "private"}, "text": str(form.get("text", ""))}
            return web.json_response({"ok": True, "result": result})
        return web.json_response({"ok": True, "result": True})

    async def dump(request: web.Request) -> web.Response:
        return web.json_response({"sent": sent})

    app = web.Application(client_max_size=2**26)
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/sent", dump)

    serve_forever(app, port, ready)


def _serve_baken(settings: dict[str, Any], port: int, ready: Any) -> None:
    """Production's tuning (flood gate, lanes, bounds) except the outgoing rate limiter: the canned API is not
    Telegram and has no 30 messages/s limit to respect."""
    from bot.channels.telegram.channel import TelegramTuning
    from bot.server import make_app
    from bot.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    app = make_app(Settings(**settings), telegram=TelegramTuning(rate_limiter=None))

    serve_forever(app, port, ready, backlog=4096)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def calm_person(http: aiohttp.ClientSession, url: str, secret: str, chat_id: int, until: float,
                      pause: float, waits: list[float]) -> None:
    steps = itertools.cycle(SCRIPT)
    while time.monotonic() < until:
        update = update_of(chat_id, "nl", next(steps))
        t0 = time.perf_counter()
        async with http.post(url, json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as response:
            await response.read()
            if response.status == 200:
                waits.append(time.perf_counter() - t0)
        await asyncio.sleep(pause)


async def flooder(url: str, secret: str, until: float, rate: float, statuses: Counter[int],
                  danger_at: list[float]) -> None:
    """`rate` messages a second, never waiting for an answer; a danger phrase half-way through. Over kept-alive
    connections (at most 40, Telegram's default max_connections), as Telegram delivers."""
    posts: list[asyncio.Task[int]] = []
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40))

    async def post(update: dict[str, Any]) -> int:
        async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as response:
            await response.read()
            return response.status

    start = time.monotonic()
    n = 0
    while time.monotonic() < until:
        n += 1
        half = not danger_at and time.monotonic() - start >= (until - start) / 2
        text = DANGER if half else f"bericht {n}"
        if half:
            danger_at.append(time.time())
        posts.append(asyncio.create_task(post(update_of(FLOODER, "nl", text))))
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
    for status in await asyncio.gather(*posts, return_exceptions=True):
        statuses[status if isinstance(status, int) else 0] += 1
    await http.close()


async def database(args: argparse.Namespace, tmp: Path) -> str:
    if args.database is None:
        return f"sqlite+aiosqlite:///{tmp / 'flood.db'}"
    return await create_database(args.database, "flood")


async def drop(args: argparse.Namespace, url: str) -> None:
    if args.database is not None:
        await drop_database(url)


async def run(args: argparse.Namespace) -> None:
    from bot.channels.telegram.notices import SLOW_DOWN
    from bot.channels.telegram.webhook import webhook_secret
    from bot.settings import Settings
    from content.i18n import translator

    api_port, port = _free_port(), _free_port()
    api = _start(_serve_api, api_port)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = await database(args, tmp)
        settings: dict[str, Any] = {
            "data_dir": str(tmp), "database_url": url, "secret_key": SECRET, "telegram_token": TOKEN,
            "telegram_api_url": f"http://127.0.0.1:{api_port}",
            "telegram_webhook_url": "https://bench.invalid/telegram/webhook",
        }
        await asyncio.to_thread(upgrade, url)
        server = _start(_serve_baken, settings, port)
        secret = webhook_secret(Settings(**settings))
        hook = f"http://127.0.0.1:{port}/telegram/webhook"
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                calm: list[float] = []
                until = time.monotonic() + args.seconds
                cpu0 = _cpu_seconds(server.pid)
                await asyncio.gather(*(calm_person(http, hook, secret, 8_000_000_000 + i, until, args.pause, calm)
                                       for i in range(args.people)))
                cpu1 = _cpu_seconds(server.pid)
                flooded: list[float] = []
                statuses: Counter[int] = Counter()
                danger_at: list[float] = []
                until = time.monotonic() + args.seconds
                await asyncio.gather(
                    flooder(hook, secret, until, args.rate, statuses, danger_at),
                    *(calm_person(http, hook, secret, 8_050_000_000 + i, until, args.pause, flooded)
                      for i in range(args.people)),
                )
                cpu2 = _cpu_seconds(server.pid)
                async with http.get(f"http://127.0.0.1:{api_port}/sent") as response:
                    sent = (await response.json())["sent"]
        finally:
            server.terminate()
            server.join()
            api.terminate()
            api.join()
            await drop(args, url)
    to_flooder = [(at, text) for at, chat, text in sent if chat == FLOODER]
    numbers = [at for at, text in to_flooder if danger_at and at >= danger_at[0] and "112" in text and "101" in text]
    slow = translator("nl")(SLOW_DOWN)
    where = "SQLite" if args.database is None else "PostgreSQL"
    print(f"{args.people} people, one message every {args.pause} s each, {args.seconds} s per phase; {where};"
          " through the real webhook, production's flood gate")
    print(f"  calm:         {len(calm):5d} replies   p50 {statistics.median(calm) * 1000:7.1f} ms"
          f"   p99 {p(calm, 0.99) * 1000:7.1f} ms")
    print(f"  one flooder:  {len(flooded):5d} replies   p50 {statistics.median(flooded) * 1000:7.1f} ms"
          f"   p99 {p(flooded, 0.99) * 1000:7.1f} ms   (flooder sent {sum(statuses.values())} at {args.rate}/s)")
    print(f"  server CPU: calm {(cpu1 - cpu0) / args.seconds:.0%} of a core, during the flood"
          f" {(cpu2 - cpu1) / args.seconds:.0%}")
    print(f"  others' p99 during the flood / calm p99: {p(flooded, 0.99) / p(calm, 0.99):.2f}x  (target < 2x)")
    print(f"  flooder's webhook answers: {dict(sorted(statuses.items()))}"
          " (429: the chat's queue is full, Telegram delivers those again later)")
    print(f"  flooder's messages answered: {sum(1 for _, t in to_flooder if t != slow)}"
          f"   slow-down notices: {sum(1 for _, t in to_flooder if t == slow)}")
    if numbers:
        print(f"  flooder's danger phrase -> 112 and 101 after {(numbers[0] - danger_at[0]) * 1000:.0f} ms")
    else:
        print("  flooder's danger phrase -> no numbers seen (!)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a person's messages")
    parser.add_argument("--rate", type=float, default=100.0, help="the flooder's messages a second")
    parser.add_argument("--database", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

