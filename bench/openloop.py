"""Open-loop load on one real `baken serve` process: updates arrive at a fixed rate whatever the answers do.

Three processes on loopback: a canned Bot API (answers at once, records what was sent), Baken started by its
own command line (`baken serve`: the same logging, access log, umask and aiohttp runner as production) with
Telegram on a webhook, and this load generator. Updates are posted on a fixed schedule (one every 1/rate
seconds, round-robin over many chats, each chat playing a conversation), over at most 64 keep-alive
connections (what Baken asks Telegram for). A reply's latency runs from the update's *scheduled* time to
the webhook's answer (Baken answers only once the step is stored and its replies sent, or, with
--webhook-reply, with the reply itself), so queueing in the generator or in the pool counts too.

Each rate runs for --seconds on the same server; a rate is "sustained" when the answers kept up (at least
97 % of the offered rate completed in the window, every update answered 200). After the run the stored order
of each chat's updates is compared with the order they were sent: 0 violations is the requirement. The rates
run in the order given on the same chats, so each later rate meets conversations further along (at the first
rates most of the 2,000 chats are at their first message, which creates a key and a session: the server's CPU
per update was 2.2-2.5 ms at 300/s and 1.7-1.9 ms at 550/s in the same runs, on 2026-11-27). Offering 500, then
550, measures the middle of conversations, not a storm of new ones.

One difference from production, said plainly: the bot-wide limiter (Telegram's ~30 messages/s) is off, as
it would cap any benchmark at 30 replies/s. Targets (issue 16): >= 500 updates/s per process, reply p99 <
50 ms at 300 updates/s. Printed, never asserted.

Run: `.venv/bin/python -m bench.openloop [--rates 100,300,500,550,700] [--seconds 10] [--chats 2000]
[--http aiohttp|httpx] [--webhook-reply]`.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.ordering import SCRIPTS, _cpu_seconds, _free_port, _serve_api, _start, update_of
from bench.steps import BENCH_KEY

TOKEN = "42:bench-token"
CONNECTIONS = 64
LOCALES = ["nl", "fr", "de", "en"]
#: histogram bucket upper bounds, ms
BUCKETS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, float("inf")]

_SERVER = """
import functools, sys
import bot.server
from bot.channels.telegram.channel import TelegramTuning
# the one change from production: no bot-wide 30 messages/s limiter (it would cap the bench at 30/s)
bot.server.TelegramTuning = functools.partial(TelegramTuning, rate_limiter=None)
from bot.cli import main
sys.exit(main(["serve", "--port", sys.argv[1]]))
"""


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * q))]


def histogram(sorted_ms: list[float]) -> str:
    counts = Counter(BUCKETS[bisect.bisect_left(BUCKETS, v)] for v in sorted_ms)
    cells = [f"<={b:g}:{counts[b]}" if b != float("inf") else f">5000:{counts[b]}" for b in BUCKETS if counts[b]]
    return "  ".join(cells)


class Load:
    def __init__(self, port: int, secret: str, chats: int) -> None:
        self.url = f"http://127.0.0.1:{port}/telegram/webhook"
        self.secret = secret
        self.chats = chats
        self.next_chat = 0
        self.sent: dict[int, list[int]] = {}  # chat -> update ids in the order they were sent
        self.steps: dict[int, int] = {}
        self.chat_base = 8_000_000_000

    def update(self) -> dict[str, Any]:
        chat = self.chat_base + self.next_chat % self.chats
        self.next_chat += 1
        n = self.steps.get(chat, 0)
        script = SCRIPTS[chat % len(SCRIPTS)]
        self.steps[chat] = n + 1
        step = script[n % len(script)]
        update = update_of(chat, LOCALES[chat % len(LOCALES)], step)
        self.sent.setdefault(chat, []).append(update["update_id"])
        return update

    async def run(self, http: aiohttp.ClientSession, rate: float, seconds: float
                  ) -> tuple[list[float], Counter[int], float, int, float]:
        """Latencies (ms) of the answered updates, statuses, the window's length, replies in answers, and the
        generator's own worst lag (ms from an update's due time to its post starting).

        The generator's garbage collector is off for the window: its full collections took 60-95 ms (the
        tasks and responses of thousands of posts), and every update due meanwhile left that much later,
        which the latencies (counted from the due time) charged to Baken: the 100-150 ms episodes of session
        8's runs."""
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            return await self._run(http, rate, seconds)
        finally:
            gc.enable()
            gc.unfreeze()

    async def _run(self, http: aiohttp.ClientSession, rate: float, seconds: float
                   ) -> tuple[list[float], Counter[int], float, int, float]:
        latencies: list[float] = []
        lag = [0.0]
        statuses: Counter[int] = Counter()
        in_answer = [0]
        total = int(rate * seconds)
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret, "Content-Type": "application/json"}

        async def post(body: bytes, due: float) -> None:
            lag[0] = max(lag[0], time.perf_counter() - due)
            try:
                async with http.post(self.url, data=body, headers=headers) as response:
                    answer = await response.read()
                    statuses[response.status] += 1
                    if answer:
                        in_answer[0] += json.loads(answer).get("method") == "sendMessage"
            except aiohttp.ClientError:
                statuses[0] += 1
                return
            latencies.append((time.perf_counter() - due) * 1000)

        loop_start = time.perf_counter()
        tasks = []
        for i in range(total):
            due = loop_start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(json.dumps(self.update()).encode(), due)))
        await asyncio.gather(*tasks)
        return sorted(latencies), statuses, time.perf_counter() - loop_start, in_answer[0], lag[0] * 1000


def stored_order_violations(db: Path, sent: dict[int, list[int]]) -> tuple[int, int, int]:
    """Chats whose updates were stepped out of send order; updates lost; updates stepped twice."""
    with sqlite3.connect(db) as conn:
        keys = [int(k) for (k,) in conn.execute("SELECT key FROM inbound_seen ORDER BY id")]
    position = {k: i for i, k in enumerate(keys)}
    violations = sum(
        [position.get(u, -1) for u in ids] != sorted(position.get(u, -1) for u in ids) for ids in sent.values()
    )
    every = [u for ids in sent.values() for u in ids]
    lost = sum(u not in position for u in every)
    return violations, lost, len(keys) - len(set(keys))


async def main_async(args: argparse.Namespace) -> None:
    api_port, port = _free_port(), _free_port()
    api = _start(_serve_api, api_port)
    tmp = Path(tempfile.mkdtemp(prefix="baken-openloop-"))
    env = {**os.environ, "BAKEN_DATA_DIR": str(tmp), "BAKEN_SECRET_KEY": BENCH_KEY, "BAKEN_TELEGRAM_TOKEN": TOKEN,
           "BAKEN_TELEGRAM_API_URL": f"http://127.0.0.1:{api_port}", "BAKEN_HOST": "127.0.0.1",
           "BAKEN_TELEGRAM_WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
           "BAKEN_TELEGRAM_HTTP": args.http, "BAKEN_TELEGRAM_WEBHOOK_REPLY": "1" if args.webhook_reply else "0",
           "BAKEN_ENVIRONMENT": "production"}
    log = (tmp / "serve.log").open("w")
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", _SERVER, str(port), env=env, stdout=log,
                                                  stderr=log)
    from bot.channels.telegram.webhook import webhook_secret
    from bot.settings import Settings

    secret = webhook_secret(Settings(secret_key=BENCH_KEY, data_dir=tmp))
    try:
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(600):  # the server is up once its webhook answers (401 without the secret)
                try:
                    async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", data=b"{}") as r:
                        if r.status == 401:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"baken serve did not start; see {tmp / 'serve.log'}")
            load = Load(port, secret, args.chats)
            await load.run(http, 100, 2)  # warm up: connections, caches, the first sessions
            print(f"open-loop load on one `baken serve` (SQLite, {args.http}"
                  f"{', replies in the webhook answer' if args.webhook_reply else ''}); {args.chats} chats,"
                  f" {args.seconds:g} s per rate, {CONNECTIONS} connections; load average before:"
                  f" {os.getloadavg()[0]:.2f}")
            sustained = 0.0
            sustained_offered = 0.0
            for rate in args.rates:
                cpu0 = _cpu_seconds(server.pid)
                latencies, statuses, window, in_answer, lag = await load.run(http, rate, args.seconds)
                cpu = _cpu_seconds(server.pid) - cpu0
                done = len(latencies)
                achieved = done / window
                ok = statuses.get(200, 0) == sum(statuses.values()) and achieved >= 0.97 * rate
                if ok:
                    sustained = max(sustained, achieved)
                    sustained_offered = max(sustained_offered, rate)
                print(f"  offered {rate:6.0f}/s: answered {achieved:6.1f}/s  p50 {percentile(latencies, .5):7.1f} ms"
                      f"  p90 {percentile(latencies, .9):7.1f}  p99 {percentile(latencies, .99):7.1f}"
                      f"  max {latencies[-1] if latencies else float('nan'):7.1f}"
                      f"  server CPU {cpu / max(done, 1) * 1000:5.2f} ms/update  statuses {dict(statuses)}"
                      f"  replies in answers {in_answer}  generator's worst lag {lag:.1f} ms"
                      f"  {'kept up' if ok else 'FELL BEHIND'}")
                print(f"    histogram (ms): {histogram(latencies)}")
    finally:
        server.terminate()
        await server.wait()
        api.terminate()
        api.join()
        log.close()
    violations, lost, doubled = stored_order_violations(tmp / "baken.sqlite3", load.sent)
    print(f"max sustained: {sustained_offered:.0f} updates/s offered and kept up ({sustained:.0f}/s answered in the"
          f" window; target >= 500)   chats stepped out of send order:"
          f" {violations}   updates lost {lost}   stepped twice {doubled}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="100,300,500,550,700", help="offered updates/s, comma-separated, in order")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--chats", type=int, default=2000)
    p.add_argument("--http", choices=("aiohttp", "httpx"), default="aiohttp")
    p.add_argument("--webhook-reply", action="store_true")
    args = p.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
