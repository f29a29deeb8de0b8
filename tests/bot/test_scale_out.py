"""Two and three real `baken serve` processes on one PostgreSQL: what crosses processes, who sends, and
SIGKILL restarts that lose, double and reorder nothing.

Figures (relay p99 with 1,000 sockets, 100,000 updates with 10 kills) come from bench/scale_out.py; these
tests assert behaviour only, with bounds far above the figures (the machine is shared).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.orm import Session

from bench.cluster import BotAPI, Counsellor, Tab, busiest_second, start_nodes, texts, wait_for_sender
from bench.ordering import update_of
from bench.scale_out import kill_run
from bot.app import Services, build_services
from bot.channels.telegram.webhook import webhook_secret
from bot.channels.webchat import CHANNEL as WEB
from bot.counsellors import add_counsellor
from bot.settings import Settings
from bot.storage.desk import Desk
from bot.storage.migrate import upgrade
from bot.storage.repository import Repository
from bot.storage.sealed import seal_session
from flows.messages import Outbound
from tests.bot.desk_support import PASSWORD
from tests.conftest import POSTGRES_URL
from tests.server_keys import TEST_KEY

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="several processes share a database only on PostgreSQL "
                       "(BAKEN_TEST_POSTGRES_URL is not set)"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """The migrated database and this test's own handle on it (a process of its own, in effect)."""
    await asyncio.to_thread(upgrade, database_url)
    services = await build_services(Settings(data_dir=tmp_path / "t", database_url=database_url,
                                             secret_key=TEST_KEY), migrate=False)
    try:
        yield services
    finally:
        await services.close()


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    fake = BotAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


async def relay_to_telegram(services: Services, chats: range) -> None:
    """A counsellor's message waiting for each of these Telegram chats (as the desk stores them)."""
    keys = services.keyring

    def unit(s: Session) -> None:
        for chat in chats:
            sid = keys.pseudonym("telegram", str(chat))
            box = keys.conversation(s, sid)
            data = seal_session(box, sid, "waiting", {"locale": "nl"})
            Repository(s).save_session(sid, channel="telegram", data=data,
                                       address=box.seal_text(str(chat), f"address:{sid}"), new=True)
            Desk(s).relay(sid, "telegram", box.seal_json([Outbound(f"relayed {chat}").to_json()], f"outbox:{sid}"))

    await services.store.run(unit)


async def until(seconds: float, condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(seconds):
        for _ in iter(condition, True):
            await asyncio.sleep(0.05)


async def test_one_sender_in_three_processes_takes_over_when_killed_and_keeps_30_a_second(
    db: Services, database_url: str, api: BotAPI, tmp_path: Path
) -> None:
    nodes = await start_nodes(3, database_url, TEST_KEY, tmp_path, api_url=api.url)
    try:
        first = await wait_for_sender(database_url)
        assert first in {n.pid for n in nodes}, "one of the processes is the sender"
        victim = next(n for n in nodes if n.pid == first)
        victim.kill()
        await victim.proc.wait()  # type: ignore[union-attr]
        second = await wait_for_sender(database_url, other_than=first)
        assert second in {n.pid for n in nodes if n is not victim}, "another process took over"

        api.sent.clear()
        await relay_to_telegram(db, range(9_100_000, 9_100_090))
        await until(30, lambda: len(api.messages()) >= 90)
        await asyncio.sleep(0.5)
        sent = api.messages()
        assert sorted(m.chat_id or 0 for m in sent) == list(range(9_100_000, 9_100_090)), "each chat, once"
        assert busiest_second([m.at for m in sent]) <= 30, "never more than 30 sends a second from the cluster"
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))


async def test_three_processes_answering_many_chats_send_30_a_second_together(
    database_url: str, api: BotAPI, tmp_path: Path
) -> None:
    """Direct replies, in webhook answers and by request, from three processes answering 120 chats at once:
    together never more than Telegram's 30 in a second, and every chat answered. Before the shared budget
    each process kept its own 30 a second (a burst of 30 each, at once)."""
    await asyncio.to_thread(upgrade, database_url)
    nodes = await start_nodes(3, database_url, TEST_KEY, tmp_path, api_url=api.url, BAKEN_TELEGRAM_SEND_LIMIT="30")
    settings = Settings(data_dir=tmp_path / "reader", database_url=database_url, secret_key=TEST_KEY,
                        telegram_token="42:cluster-token", telegram_webhook_url="https://cluster.invalid/x")
    header = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(settings)}
    chats = range(7_700_000_000, 7_700_000_120)
    answered: dict[int, float] = {}
    try:
        await asyncio.sleep(2.5)  # each process counts the others every second
        async with aiohttp.ClientSession() as http:
            async def one(n: int, chat: int) -> None:
                async with http.post(f"{nodes[n % 3].base}/telegram/webhook", json=update_of(chat, "nl", "/start"),
                                     headers=header, timeout=aiohttp.ClientTimeout(total=60)) as response:
                    assert response.status == 200
                    body = await response.read()
                if body:  # the reply rode in the answer: Telegram sends it now
                    answered[int(json.loads(body)["chat_id"])] = time.monotonic()

            await asyncio.gather(*(one(n, chat) for n, chat in enumerate(chats)))
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))
    by_request = [m for m in api.messages() if m.chat_id in chats]
    assert set(answered) | {m.chat_id for m in by_request} == set(chats), "every chat answered"
    assert busiest_second([*answered.values(), *(m.at for m in by_request)]) <= 30, \
        "never more than 30 messages a second from the cluster"


async def test_a_counsellor_on_one_process_reaches_a_web_chat_on_another_at_once(
    db: Services, database_url: str, tmp_path: Path
) -> None:
    """Without the events the other process would see the reply only at its slow poll (5 s)."""
    a, b = await start_nodes(2, database_url, TEST_KEY, tmp_path, api_url=None)
    enrolment = await add_counsellor(db.store, db.keyring, "anna", role="counsellor", languages="en,nl",
                                     password=PASSWORD, alias="Anna", one_time=False)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            idle = [await Tab.open(http, b) for _ in range(40)]  # other people with the chat open on B
            person = await Tab.open(http, b)
            await person.ask_for_a_counsellor()
            anna = Counsellor(http, a)
            await anna.sign_in("anna", PASSWORD, enrolment.secret)
            ticket = await anna.take_next()
            assert ticket is not None
            await person.until("messages")  # "Anna joined"
            loop = asyncio.get_running_loop()
            for n in range(10):
                began = loop.time()
                await anna.reply(ticket, f"Message {n} from Anna")
                seen = ""
                while f"Message {n} from Anna" not in seen:
                    seen += texts(await person.until("messages", within=4.5))
                assert loop.time() - began < 4.5, "woken by the event, not found by the 5 s poll"
            for tab in [*idle, person]:
                await tab.close()
    finally:
        await asyncio.gather(a.stop(), b.stop())
    assert WEB == "web"


async def test_sigkill_restarts_lose_double_and_reorder_nothing(
    database_url: str, api: BotAPI, tmp_path: Path
) -> None:
    """Three processes, chats each sending one update at a time (as Telegram does per chat) to a random
    process, retrying on another when one dies; two random processes are SIGKILLed and restarted meanwhile."""
    await asyncio.to_thread(upgrade, database_url)
    result = await kill_run(database_url, TEST_KEY, tmp_path, api, processes=3, chats=40, updates=2_000, kills=2,
                            rng=random.Random(16))
    assert result.kills == 2
    assert result.lost == 0 and result.doubled == 0 and result.out_of_order == 0, result
