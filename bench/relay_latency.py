"""How long a counsellor's message takes to reach the person: to a `baken chat` in another process, and to
Telegram (PTB's real HTTP stack against the fake Bot API on loopback). Budget: 2 seconds.

    .venv/bin/python -m bench.relay_latency [--rounds 20]

Each round: the desk stores the reply and its outbox row (one transaction), then the clock runs until the
message shows on the console's stdout, or until the fake Bot API receives the sendMessage.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from bench.steps import BENCH_KEY
from bot.app import Services, build_services
from bot.counsellors import add_counsellor
from bot.desk import DeskService, SignedIn
from bot.settings import Settings
from bot.storage.accounts import Accounts
from bot.storage.models import Ticket
from handover.permissions import Role
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI, Person
from tests.bot.test_console import TO_TICKET as CONSOLE_TO_TICKET
from tests.bot.test_console_relay import Chat
from tests.bot.test_telegram import TO_TICKET as TELEGRAM_TO_TICKET
from tests.bot.test_telegram import fast_tuning

PASSWORD = "benchmark password 0123"


def ticket_ids(s: Session) -> list[int]:
    return [i for i in s.execute(select(col(Ticket.id))).scalars() if i is not None]


async def counsellor(services: Services) -> SignedIn:
    await add_counsellor(services.store, services.keyring, "anna", role="counsellor", languages="nl,fr,de,en",
                         password=PASSWORD, alias="Anna", one_time=False)
    c = await services.store.run(lambda s: Accounts(s).by_name("anna"))
    assert c is not None and c.id is not None
    return SignedIn(c.id, c.name, c.alias, Role(c.role), frozenset(c.languages.split(",")), "en", "-")


def report(name: str, times: list[float]) -> None:
    times.sort()
    p95 = times[max(int(len(times) * 0.95) - 1, 0)]
    print(f"counsellor → {name:<9} median {statistics.median(times):6.0f} ms, p95 {p95:6.0f} ms, "
          f"max {times[-1]:6.0f} ms over {len(times)} messages (budget: 2000 ms)")


async def to_console(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chat = Chat(Path(tmp) / "data")
        try:
            chat.type(*CONSOLE_TO_TICKET)
            chat.wait_for("nummer 1")
            services = await build_services(Settings(data_dir=Path(tmp) / "data"))
            try:
                desk = DeskService(services.store, services.keyring)
                me = await counsellor(services)
                (ticket_id,) = await services.store.run(ticket_ids)
                await desk.claim(me, ticket_id)
                times = []
                for n in range(rounds):
                    started = time.monotonic()
                    await desk.reply(me, ticket_id, f"bericht {n} van de hulpverlener")
                    shown = await asyncio.to_thread(chat.wait_for, f"bericht {n} van de hulpverlener")
                    times.append((shown - started) * 1000)
                report("console", times)
            finally:
                await services.close()
        finally:
            chat.close()


async def to_telegram(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeBotAPI()
        await fake.start()
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite+aiosqlite:///{tmp}/b.sqlite3",
                            secret_key=BENCH_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
                            telegram_webhook_url="https://baken.example/telegram/webhook")
        baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
        await baken.start()
        try:
            person = Person(7301234561, "Annelies", "nl-BE")
            await baken.converse(person, TELEGRAM_TO_TICKET)
            services = baken.services
            me = await counsellor(services)
            desk = DeskService(services.store, services.keyring)
            (ticket_id,) = await services.store.run(ticket_ids)
            await desk.claim(me, ticket_id)
            times = []
            for n in range(rounds):
                marker = f"bericht {n} van de hulpverlener"
                started = time.monotonic()
                await desk.reply(me, ticket_id, marker)  # no in-process wake-up: the pump polls, as across processes
                async with fake._called:  # the fake notifies on every call it answers
                    await fake._called.wait_for(
                        lambda m=marker: any(m in c.text for c in fake.of("sendMessage", person.id)))  # type: ignore[misc]
                times.append((time.monotonic() - started) * 1000)
            report("Telegram", times)
        finally:
            await baken.close()
            await fake.close()


async def main(args: argparse.Namespace) -> None:
    await to_console(args.rounds)
    await to_telegram(args.rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
