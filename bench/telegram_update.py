"""What one Telegram update (a text, a button press) costs end to end, against PTB answering it with a bare
echo handler.

All run in this process through PTB's real HTTP stack to a canned Bot API in another process on loopback,
with the same update JSON, alternating in the same run: Baken and a bare echo bot on the same HTTP backend
(`--http`, aiohttp by default, as Baken ships), and a stock echo bot on PTB's default httpx backend. Baken's
path: parse → flow step → store (dedupe, lock, step, encrypt, outbox, commit) → reply → outbox delivered.
With `--webhook-reply` Baken answers a one-message step in the webhook response (the bench writes nothing
back, so it measures Baken's side of it). Every other conversation presses its buttons (as people on
Telegram mostly do), the rest type their numbers: both kinds are measured across every step of the flow, a few
hundred of each (until session 10, only the one press after the story was: 30 samples, a noisy median).
Targets (issue 16): ≤ 1.5× the echo on the same backend, below the
stock echo outright. Printed, never asserted.

Run: `.venv/bin/python -m bench.telegram_update [--conversations N] [--http aiohttp|httpx] [--webhook-reply]
[--profile]`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import multiprocessing
import pstats
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.scratch import serve_forever
from bench.steps import BENCH_KEY
from bot.app import build_services
from bot.channels.telegram.aiohttp_request import AiohttpRequest
from bot.channels.telegram.channel import Handled, TelegramChannel, TelegramTuning
from bot.channels.telegram.flood import FloodGate
from bot.dispatch import Delivery
from bot.settings import Settings
from flows.conversation import TEXT_STATES
from flows.messages import Button

TOKEN = "42:bench-token"
# one conversation to a ticket; "#x" is typed as the number of button x on the last keyboard (a text update)
SCRIPT = [
    "/start", "#go", "#role:parent", "#reason:young_person", "He has changed since the summer.", "#go",
    "#age:16-17", "#tick:withdrawn", "#tick:online", "#go", "#go", "#duration:months", "#go", "#danger:none",
    "#counsellor", "#goal:advice", "#consent",
]


# ---------------------------------------------------------------------- the canned Bot API (own process)
def _serve_api(port: int, ready: Any) -> None:
    message_ids = itertools.count(1)
    me = {"id": 42, "is_bot": True, "first_name": "Baken", "username": "BakenBenchBot"}

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "getMe":
            return web.json_response({"ok": True, "result": me})
        if name == "sendMessage":
            form = await request.post()
            chat_id = int(str(form["chat_id"]))
            result = {"message_id": next(message_ids), "date": int(time.time()),
                      "chat": {"id": chat_id, "type": "private"}, "text": str(form.get("text", ""))}
            return web.json_response({"ok": True, "result": result})
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)

    serve_forever(app, port, ready)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- updates
_update_ids = itertools.count(1)


def text_update(user_id: int, body: str) -> bytes:
    return json.dumps({
        "update_id": next(_update_ids),
        "message": {"message_id": next(_update_ids), "date": int(time.time()), "text": body,
                    "chat": {"id": user_id, "type": "private", "first_name": "A"},
                    "from": {"id": user_id, "is_bot": False, "first_name": "A", "language_code": "nl"}},
    }).encode()


def press_update(user_id: int, data: str) -> bytes:
    return json.dumps({
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)), "chat_instance": "1", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "A", "language_code": "nl"},
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": user_id, "type": "private", "first_name": "A"}},
        },
    }).encode()


def update_for(user_id: int, step: str, state: str | None, buttons: tuple[Button, ...],
               pressing: bool = False) -> tuple[str, bytes]:
    """How a person takes a step: free text as is; a button pressed (a callback query), or by typing its
    number (a text update) unless `pressing`; where typed text is an answer (the story, a postcode) only a
    press will do."""
    if not step.startswith("#"):
        return "text", text_update(user_id, step)
    if pressing or state in TEXT_STATES:
        return "press", press_update(user_id, step[1:])
    return "text", text_update(user_id, str([b.data for b in buttons].index(step[1:]) + 1))


# ---------------------------------------------------------------------- the two contenders
async def echo_app(api_url: str, http: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """PTB's floor: parse the update, run one handler, send one reply."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None and update.message.text is not None:
            await update.message.reply_text(update.message.text)

    async def echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None and update.effective_chat is not None:
            await query.answer()
            await context.bot.send_message(update.effective_chat.id, query.data or "")

    builder = (Application.builder().token(TOKEN).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
               .updater(None).job_queue(None))
    if http == "aiohttp":
        builder = builder.request(AiohttpRequest(256))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(echo_press))
    await app.initialize()
    await app.start()
    return app


class Timed:
    """Wraps one coroutine method of an object and sums the time spent in it, for the breakdown."""

    def __init__(self, target: object, name: str) -> None:
        self.total = 0.0
        original: Callable[..., Awaitable[Any]] = getattr(target, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - t0

        setattr(target, name, timed)


async def run(conversations: int, warmup: int, profile: bool, http: str, webhook_reply: bool,
              writer_thread: bool = False) -> None:
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    api = ctx.Process(target=_serve_api, args=(port, ready), daemon=True)
    api.start()
    if not ready.wait(30):
        raise RuntimeError("the canned Bot API did not start")
    api_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key=BENCH_KEY)
        services = await build_services(settings)
        tuning = TelegramTuning(rate_limiter=None, flood=FloodGate(rate=1e9, burst=10**9), http=http,
                                webhook_reply=webhook_reply)
        channel = TelegramChannel(services.dispatcher, TOKEN, api_url=api_url,
                                  webhook_url="https://bench.invalid/telegram/webhook", tuning=tuning)
        await channel.start()
        echos = {"echo": await echo_app(api_url, http)}
        if http != "httpx":
            echos["stock echo"] = await echo_app(api_url, "httpx")
        # as `baken serve` does once its services are built (bot/server.py): what lives as long as the process
        # (content, catalogs, the screen's models) leaves the collector's sweeps
        gc.collect()
        gc.freeze()
        last: dict[int, tuple[Button, ...]] = {}
        deliver = channel.deliver

        async def remembering(chat_id: int, delivery: Delivery, *, resumable: bool = True) -> None:
            keyboards = [r.buttons for r in delivery.replies if r.buttons]
            if keyboards:
                last[chat_id] = keyboards[-1]
            await deliver(chat_id, delivery, resumable=resumable)

        channel.deliver = remembering  # type: ignore[method-assign]
        handle = Timed(services.dispatcher, "handle")
        delivered = Timed(services.dispatcher, "delivered")
        wall: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}

        def record(kind: str, who: str, t0: float, c0: float) -> None:
            wall.setdefault((kind, who), []).append((time.perf_counter() - t0) * 1e6)
            cpu.setdefault((kind, who), []).append((time.process_time() - c0) * 1e6)

        # one profile per kind of update; units of work run at once on the event loop are inside it, those run
        # in the SQLite writer thread (--writer-thread) get a profile of their own (cProfile sees one thread, and
        # two profilers enabled on one thread spoil each other)
        profilers = {"text": cProfile.Profile(), "press": cProfile.Profile()} if profile else {}
        writer = cProfile.Profile() if profile and writer_thread else None
        services.store.at_once = not writer_thread
        if writer is not None:
            run_on = services.store._run_on

            def profiled(conn: Any, fn: Any) -> Any:
                if not measuring:
                    return run_on(conn, fn)
                writer.enable()
                try:
                    return run_on(conn, fn)
                finally:
                    writer.disable()

            services.store._run_on = profiled  # type: ignore[method-assign]
        measuring = False
        try:
            for n in range(warmup + conversations):
                user = 7_000_000_000 + n
                measuring = n >= warmup and profile
                if n == warmup:
                    handle.total = delivered.total = 0.0
                    wall.clear()
                    cpu.clear()
                played: list[tuple[str, bytes]] = []
                for step in SCRIPT:
                    state, _ = await services.dispatcher.load_state("telegram", str(user))
                    kind, payload = update_for(user, step, state, last.get(user, ()), pressing=n % 2 == 1)
                    played.append((kind, payload))
                    profiler = profilers.get(kind) if measuring else None
                    if profiler is not None:
                        profiler.enable()
                    t0, c0 = time.perf_counter(), time.process_time()
                    answer = await channel.answer_webhook(json.loads(payload))
                    if answer.reply is not None:  # what the webhook route does with it: the answer's body
                        json.dumps(answer.reply)
                    record(kind, "baken", t0, c0)
                    if profiler is not None:
                        profiler.disable()
                    assert answer.handled == Handled.OK
                for who, echo in echos.items():  # the same updates, answered by the bare echo bots
                    for kind, payload in played:
                        t0, c0 = time.perf_counter(), time.process_time()
                        await echo.process_update(Update.de_json(json.loads(payload), echo.bot))
                        record(kind, who, t0, c0)
        finally:
            for echo in echos.values():
                await echo.stop()
                await echo.shutdown()
            await channel.stop()
            await services.close()
            api.terminate()
    print(f"units of work run at once on the event loop: {services.store.ran_at_once}")
    print(f"Baken on {http}{' answering in the webhook response' if webhook_reply else ''};"
          f" echo on {http}{'; stock echo on httpx' if http != 'httpx' else ''}")
    for kind in ("text", "press"):
        for label, samples in (("wall", wall), ("cpu", cpu)):
            floor, ours = samples[(kind, "echo")], samples[(kind, "baken")]
            ratio = statistics.median(ours) / statistics.median(floor)
            _report(f"{kind} {label}: PTB bare echo", floor)
            if (kind, "stock echo") in samples:
                _report(f"{kind} {label}: stock echo", samples[(kind, "stock echo")])
            _report(f"{kind} {label}: Baken", ours)
            line = f"{kind} {label}: Baken / echo (same backend) {ratio:.2f}x (target <= 1.5x)"
            if (kind, "stock echo") in samples:
                stock = statistics.median(ours) / statistics.median(samples[(kind, "stock echo")])
                line += f";  Baken / stock echo {stock:.2f}x (target < 1x)"
            print(line)
    n = sum(len(wall[(k, "baken")]) for k in ("text", "press"))
    mean = sum(sum(wall[(k, "baken")]) for k in ("text", "press")) / n
    per = {"Dispatcher.handle (stored step)": handle.total / n * 1e6,
           "Dispatcher.delivered (outbox, trail)": delivered.total / n * 1e6}
    print(f"where Baken's time goes (mean per update, all {n}: {mean:.1f} µs):")
    for name, value in [*per.items(), ("parse, PTB, sendMessage over HTTP", mean - sum(per.values()))]:
        print(f"  {name:38} {value:8.1f} µs")
    for kind, profiler in profilers.items():
        print(f"=== {kind} updates, the event loop's thread (parse, PTB, HTTP, the flow step) ===")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    if writer is not None:
        print("=== every unit of work (its transaction) ===")
        pstats.Stats(writer).sort_stats("tottime").print_stats(30)
        pstats.Stats(writer).sort_stats("cumulative").print_stats(40)


def _report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9) - 1]
    print(f"{name:26} median {statistics.median(samples):8.1f} µs   min {samples[0]:8.1f}   p90 {p90:8.1f}"
          f"   ({len(samples)} updates)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conversations", type=int, default=30,
                   help="conversations measured (17 updates each; every other one presses its buttons, the rest "
                        "type their numbers)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="cProfile Baken's path and print the top functions")
    p.add_argument("--http", choices=("aiohttp", "httpx"), default="aiohttp", help="PTB's HTTP backend")
    p.add_argument("--webhook-reply", action="store_true", help="answer one-message steps in the webhook response")
    p.add_argument("--writer-thread", action="store_true",
                   help="every unit of work in SQLite's writer thread, none at once (the code before session 7)")
    args = p.parse_args()
    asyncio.run(run(args.conversations, args.warmup, args.profile, args.http, args.webhook_reply,
                    args.writer_thread))


if __name__ == "__main__":
    main()
