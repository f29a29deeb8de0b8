"""Soak: conversations, handovers and relayed messages against a real `baken serve`, killed with SIGKILL at
random moments and restarted, on SQLite or PostgreSQL. Printed, and returned for the short test.

A canned Bot API runs in its own process for the whole soak and notes every message Baken sends. Chats
talk as Telegram delivers: one update at a time per chat, and an update that was not answered 200 (the server
died, refused or failed) is delivered again until it is. Half the chats reach a counsellor (consent, then
relayed messages), the others talk without reaching the queue. While they talk, the server is killed
`--kills` times (SIGKILL, 0.2-2.5 s after it came up, at the first moment after that when a delivery is
on its way, so that every kill can cut an update short) and started again.

Afterwards every chat is compared with its own updates handled once, one after another, on a fresh database
in this process (the reference). Printed: restarts survived, consented handovers lost, duplicate tickets,
relayed messages lost or stored twice (an update handled twice), duplicate and missing replies, and sessions
not where their updates left them (not resumed where they were).

Run: `.venv/bin/python -m bench.soak [--kills 100] [--chats 12]
[--database postgresql+asyncpg://user@host/db]`; `make soak` runs it on SQLite and, when
BAKEN_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlmodel import col

from bench.flood import _serve_api
from bench.ordering import SECRET, TOKEN, _free_port, _start, update_of
from bench.scratch import create_database, drop_database

LOCALES = ["nl", "fr", "de", "en"]
#: a handover: consent to share, then messages relayed to the counsellor
HANDOVER = [
    "/start", "#go", "#role:grandparent", "#reason:young_person", "He only talks about the group now.", "#go",
    "#age:16-17", "#tick:violence_ok", "#tick:withdrawn", "#go", "#go", "#duration:months", "#go", "#danger:none",
    "#counsellor", "#goal:referral", "#consent", "Relayed one: he came home late.", "Relayed two: he seems calm.",
    "Relayed three: thank you.",
]
RELAYED = 3
#: conversations that never reach the queue
TALKS = [
    ["/start", "#go", "#role:parent", "#reason:young_person", "He changed since the summer.", "#go",
     "#age:16-17", "#tick:withdrawn", "#go", "#go", "#duration:weeks"],
    ["/start", "#go", "/language", "#lang:fr", "#role:teacher", "Bonjour", "#role:teacher",
     "#reason:young_person", "/restart", "#go", "#role:parent"],
    # urgent help twice: steps of two messages (the numbers by request, the question in the answer)
    ["/start", "#go", "/urgent", "#role:parent", "#reason:young_person", "He talks about the group all day.",
     "/urgent", "#go", "#age:16-17"],
    # erased on request, then begun again: the erasure's answer once, the chat cleared, a fresh session
    ["/start", "#go", "#role:parent", "#reason:young_person", "She stopped seeing her friends.", "/forget",
     "#forget_yes", "/start", "#go", "#role:teacher"],
]
DIGITS = re.compile(r"\d+")


@dataclass
class Chat:
    chat_id: int
    locale: str
    script: list[str]
    handover: bool
    updates: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0  # posts made, re-deliveries included
    answered: list[str] = field(default_factory=list)  # texts sent as the webhook's answer (Telegram runs them)


@dataclass
class Figures:
    backend: str
    kills: int
    restarts_survived: int
    port_changes: int
    chats: int
    updates: int
    deliveries: int
    handovers: int
    handovers_lost: int
    duplicate_tickets: int
    relayed_lost: int
    relayed_twice: int
    duplicate_replies: int
    #: of those, texts that went out by sendMessage: a process that dies between Telegram's answer to the request
    #: and the commit of its count (about a millisecond) sends that part again (README, "Telegram"); at most one a kill
    duplicate_by_request: int
    missing_replies: int
    by_request: int  # replies sent by sendMessage (several-message steps, re-sends after a failure)
    in_answer: int  # replies Telegram ran from the webhook's answer
    not_resumed: int
    seconds: float
    #: the first words of each reply that came twice or never (what to look at when a figure is not 0)
    doubled_texts: list[str] = field(default_factory=list)
    missing_texts: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{self.backend}: {self.kills} SIGKILLs in {self.seconds:.0f} s; restarts survived"
            f" {self.restarts_survived}/{self.kills}" + (f" ({self.port_changes} on another port: the old one was"
                                                          " taken meanwhile)" if self.port_changes else ""),
            f"  {self.chats} chats, {self.updates} updates ({self.deliveries} deliveries with re-deliveries),"
            f" {self.handovers} consented handovers",
            f"  consented handovers lost {self.handovers_lost}   duplicate tickets {self.duplicate_tickets}",
            f"  relayed messages lost {self.relayed_lost}   stored twice (update handled twice) {self.relayed_twice}",
            f"  duplicate replies {self.duplicate_replies} (by request {self.duplicate_by_request})"
            f"   missing replies {self.missing_replies}"
            f"   (replies by sendMessage {self.by_request}, in the webhook's answer {self.in_answer})",
            f"  sessions not resumed where they were {self.not_resumed}",
            *(f"  came twice: {t!r}" for t in self.doubled_texts),
            *(f"  never came: {t!r}" for t in self.missing_texts),
        ]


class Server:
    """`baken serve` as a child process, killed and started again; its log in `log`."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.up = asyncio.Event()
        self.port_changes = 0  # the port was taken meanwhile (by another program's connection): not Baken's fault
        self.in_flight = 0  # deliveries posted and not yet answered
        self.posting = asyncio.Event()  # set as a delivery is posted

    async def mid_delivery(self, within: float = 1.0) -> None:
        """Until some delivery is on its way (or `within` seconds passed), then a few milliseconds more: a kill
        then cuts an update short before it was read, while it is handled, or as it is answered."""
        if self.in_flight == 0:
            self.posting.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.posting.wait(), within)
        await asyncio.sleep(random.uniform(0, 0.01))

    async def restart(self, http: aiohttp.ClientSession, tries: int = 5) -> bool:
        """Start again; when the process cannot even start (its port was taken while it was down: on a
        shared machine an outgoing connection may get that number), on another free port."""
        for _ in range(tries):
            if await self.start(http):
                return True
            if "address already in use" not in self.log.read_text(errors="replace").lower().split("serve #")[-1]:
                return False
            self.port = _free_port()
            self.env["BAKEN_PORT"] = str(self.port)
            self.port_changes += 1
        return False

    async def start(self, http: aiohttp.ClientSession, within: float = 120) -> bool:
        with self.log.open("a") as log:
            log.write("\nserve #\n")
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", env=self.env, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                return False
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    if response.status == 200:
                        self.up.set()
                        return True
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.05)
        return False

    async def kill(self) -> None:
        self.up.clear()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        self.up.clear()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def deliver(http: aiohttp.ClientSession, server: Server, secret: str, chat: Chat,
                  update: dict[str, Any]) -> None:
    """As Telegram does: again and again until the webhook answers 200."""
    while True:
        await server.up.wait()
        chat.deliveries += 1
        server.in_flight += 1
        server.posting.set()
        try:
            async with http.post(f"http://127.0.0.1:{server.port}/telegram/webhook", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as response:
                body = await response.read()
                status = response.status
                json_answer = response.content_type == "application/json"
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = 0
        finally:
            server.in_flight -= 1
        if status == 200:
            # Telegram runs a method given as the answer only when it read the whole answer
            if body and json_answer:
                call = json.loads(body)
                if call.get("method") == "sendMessage":
                    chat.answered.append(str(call["text"]))
            return
        await asyncio.sleep(0.1 if status == 0 else 0.2 if status in (429, 503) else 0.5)


async def talk(http: aiohttp.ClientSession, server: Server, secret: str, chat: Chat) -> None:
    for update in chat.updates:
        await deliver(http, server, secret, chat, update)
        await asyncio.sleep(random.uniform(0.05, 0.3))


def make_chat(n: int) -> Chat:
    locale = LOCALES[n % len(LOCALES)]
    handover = n % 2 == 0
    script = HANDOVER if handover else TALKS[(n // 2) % len(TALKS)]
    chat = Chat(9_100_000_000 + n, locale, script, handover)
    chat.updates = [update_of(chat.chat_id, locale, step) for step in script]
    return chat


async def database(base: str | None, tmp: Path) -> str:
    if base is None:
        return f"sqlite+aiosqlite:///{tmp / 'soak.db'}"
    return await create_database(base, "soak")


async def drop(base: str | None, url: str) -> None:
    if base is not None:
        await drop_database(url)


def normalised(text: str) -> str:
    """Queue positions and times depend on the other chats, and what /forget could clear from the screen on
    how far Telegram got: compare texts without their numbers or the clearing note."""
    return DIGITS.sub("#", CLEARING_NOTES.sub("", text))


def _clearing_notes() -> re.Pattern[str]:
    from bot.channels.telegram.notices import CHAT_CLEARED, SOME_MESSAGES_REMAIN
    from bot.channels.telegram.render import to_html
    from content.i18n import translator

    notes = {to_html(translator(loc)(m)) for loc in LOCALES for m in (CHAT_CLEARED, SOME_MESSAGES_REMAIN)}
    return re.compile("|".join(re.escape("\n\n" + n) for n in sorted(notes)))


CLEARING_NOTES = _clearing_notes()


async def reference(chats: list[Chat], folder: Path) -> dict[int, tuple[Any, Counter[str], int]]:
    """Each chat's updates handled once, one after another, on a fresh database: its final state and data,
    the messages it would be sent, and its relayed messages stored."""
    from bot.app import build_services
    from bot.channels.telegram.render import compose
    from bot.dispatch import Envelope
    from bot.settings import Settings
    from bot.storage.models import Ticket, TicketMessage
    from content.i18n import normalise_locale
    from flows.messages import Inbound

    services = await build_services(Settings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder}/r.db",
                                             secret_key=SECRET))
    try:
        result: dict[int, tuple[Any, Counter[str], int]] = {}
        for c in chats:
            texts: Counter[str] = Counter()
            for u in c.updates:
                inbound = (Inbound.choice(u["callback_query"]["data"]) if "callback_query" in u
                           else Inbound.from_text(u["message"]["text"]))
                env = Envelope("telegram", str(c.chat_id), inbound, update_key=str(u["update_id"]),
                               locale_hint=normalise_locale(c.locale), address=str(c.chat_id))
                texts.update(normalised(part.html) for part in compose((await services.dispatcher.handle(env)).replies))
            state = await services.dispatcher.load_state("telegram", str(c.chat_id))
            sid = services.dispatcher.pseudonym("telegram", str(c.chat_id))
            async with services.sessions() as s:
                relayed = int((await s.execute(
                    select(func.count()).select_from(TicketMessage).join(Ticket, col(Ticket.id) == col(
                        TicketMessage.ticket_id)).where(col(Ticket.session_id) == sid)
                )).scalar_one())
            result[c.chat_id] = (state, texts, relayed)
        return result
    finally:
        await services.close()


async def soak(kills: int, concurrent: int, base: str | None, *, quiet: bool = False,
               webhook_reply: bool | None = None) -> Figures:
    """The whole soak on one backend; the figures."""
    from bot.app import build_services
    from bot.channels.telegram.notices import SLOW_DOWN
    from bot.channels.telegram.webhook import webhook_secret
    from bot.settings import Settings
    from bot.storage.migrate import upgrade
    from bot.storage.models import Ticket, TicketMessage
    from content.i18n import translator

    notices = {normalised(translator(loc)(SLOW_DOWN)) for loc in LOCALES}
    api_port, port = _free_port(), _free_port()
    api = _start(_serve_api, api_port)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="baken-soak-") as folder:
        tmp = Path(folder)
        url = await database(base, tmp)
        settings = Settings(data_dir=tmp / "data", database_url=url, secret_key=SECRET, telegram_token=TOKEN,
                            telegram_api_url=f"http://127.0.0.1:{api_port}",
                            telegram_webhook_url="https://soak.invalid/telegram/webhook")
        await asyncio.to_thread(upgrade, url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
        env |= {"BAKEN_DATA_DIR": str(tmp / "data"), "BAKEN_PORT": str(port), "BAKEN_DATABASE_URL": url,
                "BAKEN_SECRET_KEY": SECRET, "BAKEN_TELEGRAM_TOKEN": TOKEN,
                "BAKEN_TELEGRAM_API_URL": f"http://127.0.0.1:{api_port}",
                "BAKEN_TELEGRAM_WEBHOOK_URL": "https://soak.invalid/telegram/webhook", "BAKEN_LOG_LEVEL": "ERROR",
                "BAKEN_TELEGRAM_SEND_LIMIT": "0"}  # crashes and exactly-once, not Telegram's limit
        if webhook_reply is not None:
            env["BAKEN_TELEGRAM_WEBHOOK_REPLY"] = "1" if webhook_reply else "0"
        secret = webhook_secret(settings)
        server = Server(env, port, tmp / "serve.log")
        chats: list[Chat] = []
        survived = 0
        try:
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                if not await server.restart(http):
                    raise RuntimeError("baken serve did not start:\n" + server.log.read_text(errors="replace")[-2000:])
                numbers = itertools.count()
                killing = True

                async def chat_after_chat() -> None:
                    while killing:
                        chat = make_chat(next(numbers))
                        chats.append(chat)
                        await talk(http, server, secret, chat)

                async def killer() -> None:
                    nonlocal survived, killing
                    for n in range(kills):
                        await asyncio.sleep(random.uniform(0.2, 2.5))
                        await server.mid_delivery()
                        await server.kill()
                        if not await server.restart(http):
                            tail = server.log.read_text(errors="replace")[-2000:]
                            raise RuntimeError(f"baken serve did not come back after kill {n + 1}:\n{tail}")
                        survived += 1
                        if not quiet and (n + 1) % 10 == 0:
                            print(f"  ... {n + 1} kills, {len(chats)} chats so far", flush=True)
                    killing = False

                await asyncio.gather(killer(), *(chat_after_chat() for _ in range(concurrent)))
                await server.stop()
        finally:
            await server.kill()
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{api_port}/sent") as response:
            sent = (await response.json())["sent"]
        api.terminate()
        api.join()

        services = await build_services(settings, migrate=False)
        try:
            got_state = {c.chat_id: await services.dispatcher.load_state("telegram", str(c.chat_id)) for c in chats}
            async with services.sessions() as s:
                tickets = Counter((await s.execute(select(col(Ticket.session_id)))).scalars())
                relayed = Counter((await s.execute(
                    select(col(Ticket.session_id)).join(TicketMessage, col(Ticket.id) == col(TicketMessage.ticket_id))
                )).scalars())
            pseudonym = {c.chat_id: services.dispatcher.pseudonym("telegram", str(c.chat_id)) for c in chats}
        finally:
            await services.close()
        (tmp / "reference").mkdir()
        expected = await reference(chats, tmp / "reference")
        await drop(base, url)

    got_texts: dict[int, Counter[str]] = {}
    requested: dict[int, Counter[str]] = {}  # what went out by sendMessage, per chat (the rest rode in answers)
    for _, chat_id, text in sent:
        if normalised(text) not in notices:
            requested.setdefault(chat_id, Counter())[normalised(text)] += 1
    by_request = sum(sum(n.values()) for n in requested.values())
    sent += [(0.0, c.chat_id, text) for c in chats for text in c.answered]
    for _, chat_id, text in sent:
        if normalised(text) not in notices:
            got_texts.setdefault(chat_id, Counter())[normalised(text)] += 1
    handovers = [c for c in chats if c.handover]
    duplicate = missing = duplicate_by_request = 0
    doubled_texts: list[str] = []
    missing_texts: list[str] = []
    for c in chats:
        got, want = got_texts.get(c.chat_id, Counter()), expected[c.chat_id][1]
        duplicate += sum((got - want).values())
        duplicate_by_request += sum(n for text, n in (got - want).items() if text in requested.get(c.chat_id, ()))
        missing += sum((want - got).values())
        doubled_texts += [text[:60] for text in (got - want)]
        missing_texts += [text[:60] for text in (want - got)]
    return Figures(
        backend="SQLite" if base is None else "PostgreSQL",
        kills=kills, restarts_survived=survived, port_changes=server.port_changes, chats=len(chats),
        updates=sum(len(c.updates) for c in chats),
        deliveries=sum(c.deliveries for c in chats), handovers=len(handovers),
        handovers_lost=sum(1 for c in handovers if tickets[pseudonym[c.chat_id]] == 0),
        duplicate_tickets=sum(max(0, n - 1) for n in tickets.values()),
        relayed_lost=sum(max(0, expected[c.chat_id][2] - relayed[pseudonym[c.chat_id]]) for c in chats),
        relayed_twice=sum(max(0, relayed[pseudonym[c.chat_id]] - expected[c.chat_id][2]) for c in chats),
        duplicate_replies=duplicate, duplicate_by_request=duplicate_by_request, missing_replies=missing,
        by_request=by_request,
        in_answer=sum(len(c.answered) for c in chats),
        not_resumed=sum(1 for c in chats if got_state[c.chat_id] != expected[c.chat_id][0]),
        seconds=time.monotonic() - began, doubled_texts=doubled_texts, missing_texts=missing_texts,
    )


async def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    backends: list[str | None] = [None] if args.database is None else [args.database]
    if args.both and os.environ.get("BAKEN_TEST_POSTGRES_URL"):
        backends = [None, os.environ["BAKEN_TEST_POSTGRES_URL"]]
    print(f"soak: {args.kills} SIGKILLs per backend, {args.chats} chats talking at once"
          " (half of them hand over to a counsellor)", flush=True)
    for base in backends:
        figures = await soak(args.kills, args.chats, base, webhook_reply=args.webhook_reply)
        print("\n".join(figures.lines()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--chats", type=int, default=12, help="chats talking at once")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--both", action="store_true",
                        help="SQLite, then PostgreSQL at BAKEN_TEST_POSTGRES_URL when it is set")
    parser.add_argument("--webhook-reply", type=int, choices=(0, 1), default=None,
                        help="1: replies ride in the webhook's answer; 0: always by sendMessage (default: Baken's)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
