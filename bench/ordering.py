"""What keeping each chat's order costs, and whether it holds, under a load that does not wait for answers.

Baken's webhook server runs in one or two processes (one PostgreSQL for two), against a canned Bot API in
another process that answers at once and records what it was asked to send. Many chats each send their
updates a few ms apart without waiting for answers (a chat's updates alternate between the processes when
there are two). Each chat's final state and replies are compared with the same updates handled one after
another. The same load runs with per-chat ordering on and off (in-process lanes and the database lock), in
the same run, on fresh databases; printed, never asserted.

Run: `.venv/bin/python -m bench.ordering [--chats 300] [--updates 10] [--gap-ms 2]
[--database postgresql+asyncpg://user@host/db] [--processes 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import multiprocessing
import os
import socket
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from bench.scratch import create_database, drop_database, serve_forever
from bench.steps import BENCH_KEY
from bot.storage.migrate import upgrade

TOKEN = "42:bench-token"
SECRET = BENCH_KEY
#: conversations that never reach the queue, so every reply depends on the chat's own updates alone
SCRIPTS = [
    ["/start", "#go", "#role:parent", "#reason:young_person", "He changed since the summer.", "#go",
     "#age:16-17", "#tick:withdrawn", "#go", "#go"],
    ["/start", "#go", "/language", "#lang:fr", "#role:teacher", "Bonjour", "#role:teacher",
     "#reason:young_person", "/restart", "#go"],
    ["/start", "hello", "#go", "#role:grandparent", "#go", "/urgent", "#reason:young_person", "Some words",
     "#go", "#nonsense"],
]
LOCALES = ["nl", "fr", "de", "en"]


# ---------------------------------------------------------------------- the canned Bot API (own process)
def _serve_api(port: int, ready: Any) -> None:
    """Answers every method at once; keeps what was sent, per chat and in order, for GET /sent."""
    message_ids = itertools.count(1)
    sent: list[list[Any]] = []
    acks = [0]
    me = {"id": 42, "is_bot": True, "first_name": "Baken", "username": "BakenBenchBot"}

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "getMe":
            return web.json_response({"ok": True, "result": me})
        if name == "sendMessage":
            form = await request.post()
            chat_id = int(str(form["chat_id"]))
            sent.append([chat_id, str(form.get("text", "")), str(form.get("reply_markup", ""))])
            result = {"message_id": next(message_ids), "date": int(time.time()),
                      "chat": {"id": chat_id, "type": "private"}, "text": str(form.get("text", ""))}
            return web.json_response({"ok": True, "result": result})
        if name == "answerCallbackQuery":
            acks[0] += 1
        return web.json_response({"ok": True, "result": True})

    async def dump(request: web.Request) -> web.Response:
        body = web.json_response({"sent": sent, "acks": acks[0]})
        sent.clear()
        acks[0] = 0
        return body

    app = web.Application(client_max_size=2**26)
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/sent", dump)

    serve_forever(app, port, ready)


# ---------------------------------------------------------------------- Baken's server (own process)
def _serve_baken(settings: dict[str, Any], ordered: bool, port: int, ready: Any) -> None:
    from bot.channels.telegram.channel import TelegramTuning
    from bot.channels.telegram.flood import FloodGate
    from bot.server import SERVICES, make_app
    from bot.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    # urgent_grace: /urgent's numbers must not overtake a late step here, where replies are compared in order
    tuning = TelegramTuning(rate_limiter=None, flood=FloodGate(rate=1e9, burst=10**9), ordered=ordered,
                            urgent_grace=60.0,
                            max_pending_updates=10**6)
    app = make_app(Settings(**settings), telegram=tuning)

    async def unordered(app: web.Application) -> None:
        app[SERVICES].dispatcher.ordered = ordered

    app.on_startup.append(unordered)

    serve_forever(app, port, ready, backlog=4096)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int | None) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(target: Any, *args: Any) -> multiprocessing.process.BaseProcess:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=target, args=(*args, ready), daemon=True)
    proc.start()
    if not ready.wait(120):
        raise RuntimeError(f"{target.__name__} did not start")
    return proc


# ---------------------------------------------------------------------- updates
_ids = itertools.count(1)


def update_of(chat_id: int, locale: str, step: str) -> dict[str, Any]:
    person = {"id": chat_id, "is_bot": False, "first_name": "A", "language_code": locale}
    chat = {"id": chat_id, "type": "private", "first_name": "A"}
    if step.startswith("#"):
        return {"update_id": next(_ids), "callback_query": {
            "id": str(next(_ids)), "chat_instance": "1", "data": step[1:], "from": person,
            "message": {"message_id": 1, "date": int(time.time()), "text": "…", "chat": chat}}}
    return {"update_id": next(_ids), "message": {"message_id": next(_ids), "date": int(time.time()), "text": step,
                                                  "chat": chat, "from": person}}


@dataclass
class Chat:
    chat_id: int
    script: int
    locale: str
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> tuple[int, str]:
        return self.script, self.locale


@dataclass
class Outcome:
    mode: str
    seconds: float
    cpu: float  # the server processes' CPU seconds while the load ran
    statuses: Counter[int]
    diverged: int
    not_serial: int  # chats whose state or replies differ from their updates replayed in the order stepped
    lost: int
    doubled: int
    out_of_order: int
    acks: int
    presses: int

    @property
    def updates(self) -> int:
        return sum(self.statuses.values())


async def _post(port: int, secret: str, update: dict[str, Any]) -> asyncio.Task[int]:
    """Write one webhook request whole, then return a task awaiting its status.

    Raw HTTP on a connection of its own, so the request is on the wire when this returns: a chat's updates
    reach the server in the order they were sent (a client library may connect or write them in any order).
    """
    body = json.dumps(update).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        .encode() + body
    )
    await writer.drain()

    async def status() -> int:
        try:
            line = await reader.readline()
            return int(line.split()[1])
        finally:
            writer.close()

    return asyncio.create_task(status())


# ---------------------------------------------------------------------- one run
class Run:
    def __init__(self, args: argparse.Namespace, api_url: str, tmp: Path) -> None:
        self.args = args
        self.api_url = api_url
        self.tmp = tmp

    async def database(self) -> str:
        """A fresh database for each mode: SQLite in the temp folder, or a new one on the PostgreSQL server."""
        if self.args.database is None:
            return f"sqlite+aiosqlite:///{self.tmp / f'{uuid.uuid4().hex}.db'}"
        return await create_database(self.args.database, "bench")

    async def drop(self, url: str) -> None:
        if self.args.database is not None:
            await drop_database(url)

    def settings(self, url: str) -> dict[str, Any]:
        return {"data_dir": str(self.tmp), "database_url": url, "secret_key": SECRET, "telegram_token": TOKEN,
                "telegram_api_url": self.api_url, "telegram_webhook_url": "https://bench.invalid/telegram/webhook"}

    async def replayed_differ(self, chats: list[Chat], stepped: dict[int, list[dict[str, Any]]],
                              got: dict[int, Any]) -> int:
        folder = self.tmp / uuid.uuid4().hex
        folder.mkdir()
        replayed = await _replay(chats, stepped, folder)
        return sum(
            got[c.chat_id][0] != replayed[c.chat_id][0]
            or Counter(text for text, _ in got[c.chat_id][1]) != replayed[c.chat_id][1]
            for c in chats
        )

    async def play(self, ordered: bool, chats: list[Chat], *, one_by_one: bool) -> tuple[Outcome, dict[int, Any]]:
        """Serve, send every chat's updates, then read back what each chat got and its final state."""
        from bot.app import build_services
        from bot.channels.telegram.webhook import webhook_secret
        from bot.settings import Settings
        from bot.storage.models import InboundSeen

        url = await self.database()
        settings = self.settings(url)
        await asyncio.to_thread(upgrade, url)
        processes = self.args.processes if not one_by_one else 1
        ports = [_free_port() for _ in range(processes)]
        servers = [_start(_serve_baken, settings, ordered, port) for port in ports]
        secret = webhook_secret(Settings(**settings))
        statuses: Counter[int] = Counter()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{self.api_url}/sent"):
                    pass  # forget start-up calls

                async def one_chat(chat: Chat) -> None:
                    posts = []
                    for n, update in enumerate(chat.updates):
                        if one_by_one:
                            statuses[await (await _post(ports[0], secret, update))] += 1
                            continue
                        posts.append(await _post(ports[n % len(ports)], secret, update))
                        await asyncio.sleep(self.args.gap_ms / 1000)
                    for status in await asyncio.gather(*posts):
                        statuses[status] += 1

                cpu0 = sum(_cpu_seconds(server.pid) for server in servers)
                t0 = time.perf_counter()
                await asyncio.gather(*(one_chat(c) for c in chats))
                seconds = time.perf_counter() - t0
                cpu = sum(_cpu_seconds(server.pid) for server in servers) - cpu0
                async with http.get(f"{self.api_url}/sent") as response:
                    record = await response.json()
        finally:
            for server in servers:
                server.terminate()
                server.join()
        services = await build_services(Settings(**settings), migrate=False)
        try:
            async with services.sessions() as s:
                handled = list((await s.execute(select(col(InboundSeen.key)).order_by(col(InboundSeen.id)))).scalars())
            states = {c.chat_id: await services.dispatcher.load_state("telegram", str(c.chat_id)) for c in chats}
        finally:
            await services.close()
            await self.drop(url)
        replies: dict[int, list[tuple[str, str]]] = {}
        for chat_id, text, markup in record["sent"]:
            replies.setdefault(chat_id, []).append((text, markup))
        position = {int(k): i for i, k in enumerate(handled)}
        out_of_order = sum(
            [position.get(u["update_id"], -1) for u in c.updates]
            != sorted(position.get(u["update_id"], -1) for u in c.updates) for c in chats
        )
        got = {c.chat_id: (states[c.chat_id], replies.get(c.chat_id, [])) for c in chats}
        presses = sum(1 for c in chats for u in c.updates if "callback_query" in u)
        acks = int(record["acks"])
        stepped = {c.chat_id: sorted(c.updates, key=lambda u: position.get(u["update_id"], -1)) for c in chats}
        not_serial = 0 if one_by_one else await self.replayed_differ(chats, stepped, got)
        outcome = Outcome("ordered" if ordered else "unordered", seconds, cpu, statuses, 0, not_serial,
                          lost=sum(len(c.updates) for c in chats) - len(set(handled)),
                          doubled=len(handled) - len(set(handled)) + max(0, acks - presses),
                          out_of_order=out_of_order,
                          acks=acks, presses=presses)
        return outcome, got


async def _replay(chats: list[Chat], stepped: dict[int, list[dict[str, Any]]], folder: Path
                  ) -> dict[int, tuple[Any, Counter[str]]]:
    """Each chat's updates handled one after another in the given order, through the Dispatcher on a fresh
    database in this process: its final state and the texts of the messages it would be sent."""
    from bot.app import build_services
    from bot.channels.telegram.render import compose
    from bot.dispatch import Envelope
    from bot.settings import Settings
    from content.i18n import normalise_locale
    from flows.messages import Inbound

    services = await build_services(Settings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder}/r.db",
                                             secret_key=SECRET))
    try:
        result: dict[int, tuple[Any, Counter[str]]] = {}
        for c in chats:
            texts: Counter[str] = Counter()
            for u in stepped[c.chat_id]:
                inbound = (Inbound.choice(u["callback_query"]["data"]) if "callback_query" in u
                           else Inbound.from_text(u["message"]["text"]))
                env = Envelope("telegram", str(c.chat_id), inbound, update_key=str(u["update_id"]),
                               locale_hint=normalise_locale(c.locale), address=str(c.chat_id))
                texts.update(part.html for part in compose((await services.dispatcher.handle(env)).replies))
            result[c.chat_id] = (await services.dispatcher.load_state("telegram", str(c.chat_id)), texts)
        return result
    finally:
        await services.close()


def compare(outcome: Outcome, chats: list[Chat], got: dict[int, Any], expected: dict[tuple[int, str], Any]) -> None:
    """Diverged: a chat whose final state or replies (texts, buttons, in order) differ from those of its
    updates handled one after another."""
    for c in chats:
        outcome.diverged += got[c.chat_id] != expected[c.kind]


async def run(args: argparse.Namespace) -> None:
    port = _free_port()
    api = _start(_serve_api, port)
    api_url = f"http://127.0.0.1:{port}"
    kinds = [(s, loc) for s in range(len(SCRIPTS)) for loc in LOCALES]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Run(args, api_url, Path(tmp))
            # the reference: one chat of each script and language, each update answered before the next
            reference = [Chat(6_000_000_000 + n, s, loc) for n, (s, loc) in enumerate(kinds)]
            for c in reference:
                c.updates = [update_of(c.chat_id, c.locale, step) for step in SCRIPTS[c.script][: args.updates]]
            _, got = await bench.play(True, reference, one_by_one=True)
            expected = {c.kind: got[c.chat_id] for c in reference}
            where = "SQLite" if args.database is None else f"PostgreSQL, {args.processes} process(es)"
            print(f"{args.chats} chats x {args.updates} updates, {args.gap_ms} ms apart, not awaited; {where}")
            outcomes = []
            for ordered in [True, False] * args.rounds:
                chats = []
                for n in range(args.chats):
                    s, loc = kinds[n % len(kinds)]
                    chat = Chat(7_000_000_000 + n, s, loc)
                    chat.updates = [update_of(chat.chat_id, loc, step) for step in SCRIPTS[s][: args.updates]]
                    chats.append(chat)
                outcome, got = await bench.play(ordered, chats, one_by_one=False)
                compare(outcome, chats, got, expected)
                outcomes.append(outcome)
                errors = sum(n for status, n in outcome.statuses.items() if status >= 500)
                print(f"  {outcome.mode:9}: {outcome.updates / outcome.seconds:7.1f} updates/s"
                      f" ({outcome.updates} in {outcome.seconds:5.1f} s,"
                      f" server CPU {outcome.cpu / outcome.updates * 1000:5.2f} ms/update)"
                      f"   diverged {outcome.diverged}/{args.chats}"
                      f" (from the order stepped: {outcome.not_serial})"
                      f"   updates lost {outcome.lost}   doubled {outcome.doubled}   server errors {errors}"
                      f"   chats stepped out of send order {outcome.out_of_order}"
                      f"   acks {outcome.acks}/{outcome.presses}   statuses {dict(outcome.statuses)}")
            rate = {m: sum(o.updates for o in outcomes if o.mode == m) / sum(o.seconds for o in outcomes if o.mode == m)
                    for m in ("ordered", "unordered")}
            cpu = {m: sum(o.cpu for o in outcomes if o.mode == m) / sum(o.updates for o in outcomes if o.mode == m)
                   for m in ("ordered", "unordered")}
            print(f"cost of per-chat ordering: {rate['unordered']:.1f} -> {rate['ordered']:.1f} updates/s"
                  f" ({rate['ordered'] / rate['unordered'] - 1:+.1%}); server CPU per update"
                  f" {cpu['unordered'] * 1000:.2f} -> {cpu['ordered'] * 1000:.2f} ms"
                  f" ({cpu['ordered'] / cpu['unordered'] - 1:+.1%})")
            print("(a chat's own updates no longer overlap: with few chats sending many updates each, the"
                  " slowest chat's queue bounds the run; Telegram itself sends a chat's next update only"
                  " after the previous one was answered)")
    finally:
        api.terminate()
        api.join()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chats", type=int, default=300)
    p.add_argument("--updates", type=int, default=10, help="updates per chat (at most 10)")
    p.add_argument("--gap-ms", type=float, default=2.0, help="between a chat's updates")
    p.add_argument("--database", default=None, help="a PostgreSQL URL (fresh databases are made on its server)")
    p.add_argument("--processes", type=int, default=1, help="Baken server processes (2 needs PostgreSQL)")
    p.add_argument("--rounds", type=int, default=1, help="ordered and unordered runs, alternating")
    args = p.parse_args()
    if args.processes > 1 and args.database is None:
        p.error("several processes share a database only on PostgreSQL: give --database")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
