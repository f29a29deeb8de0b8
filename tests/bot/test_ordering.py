"""One person, one order: a conversation's messages arriving together are handled as if one after another.

Many people, each sending many messages without waiting for answers, on SQLite and PostgreSQL: every
person's final state and replies must equal those of the same messages handled one at a time. Through the
Dispatcher (what the console and the web chat call), through the real webhook (aiohttp on loopback, PTB,
the fake Bot API), and through two `baken serve` processes on one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from telegram.ext import AIORateLimiter

from bench.ordering import LOCALES, SCRIPTS  # conversations that never reach the queue
from bot.app import Services, build_services
from bot.channels.telegram.channel import TelegramTuning
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.notices import SLOW_DOWN
from bot.channels.telegram.webhook import webhook_secret
from bot.dispatch import Envelope
from bot.lanes import LaneFull
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.storage.models import ConversationSession, InboundSeen
from bot.storage.repository import Contention, Repository
from content.i18n import translator
from flows.messages import Inbound
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI, Person, press, text
from tests.bot.test_server import free_port
from tests.conftest import POSTGRES_URL
from tests.server_keys import TEST_KEY


def inbound(step: str) -> Inbound:
    return Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)


# ------------------------------------------------------------------------------------------- the Dispatcher
async def test_messages_arriving_together_are_stepped_in_arrival_order(services: Services) -> None:
    """What the console and the web chat do: call handle() as a message comes, without waiting."""
    dispatcher = services.dispatcher
    people = [(f"p{n}", SCRIPTS[n % len(SCRIPTS)], LOCALES[n % len(LOCALES)]) for n in range(24)]

    async def one_after_another(user: str, script: list[str], locale: str) -> list[list[str]]:
        replies = []
        for step in script:
            d = await dispatcher.handle(Envelope("reference", user, inbound(step), locale_hint=locale))
            replies.append([r.text for r in d.replies])
        return replies

    expected = {p[0]: await one_after_another(*p) for p in people}
    # every message of every person at once, interleaved across people, in this order of arrival
    calls = [
        asyncio.create_task(dispatcher.handle(Envelope("console", user, inbound(script[i]), locale_hint=locale)))
        for i in range(10) for user, script, locale in people
    ]
    deliveries = await asyncio.gather(*calls)
    diverged = 0
    for n, (user, script, _) in enumerate(people):
        replies = [[r.text for r in deliveries[i * len(people) + n].replies] for i in range(len(script))]
        state = await dispatcher.load_state("console", user)
        diverged += replies != expected[user] or state != await dispatcher.load_state("reference", user)
    assert diverged == 0
    assert await rows(services, ConversationSession) == 2 * len(people), "one session a person and channel"
    assert len(dispatcher.lanes) == 0, "idle conversations keep no lane"


async def test_a_new_persons_first_messages_in_two_processes_make_one_session(settings: Settings) -> None:
    """Two servers on one database, each given one of a new person's first two messages at the same time."""
    first, second = await build_services(settings), await build_services(settings, migrate=False)
    try:
        people = [f"new{n}" for n in range(20)]
        results = await asyncio.gather(*(
            s.dispatcher.handle(Envelope("console", user, inbound(step), update_key=f"{user}:{step}"))
            for user in people for s, step in ((first, "/start"), (second, "hello"))
        ))
        assert all(not d.duplicate and d.replies for d in results), "both messages handled, none refused"
        assert await rows(first, ConversationSession) == len(people)
        assert await rows(first, InboundSeen) == 2 * len(people)
        for user in people:
            state, data = await first.dispatcher.load_state("console", user)
            assert state == "welcome" and data is not None
    finally:
        await first.close()
        await second.close()


async def test_a_session_created_meanwhile_is_a_retry_not_an_error(services: Services) -> None:
    """The storage layer's answer to the unique-key race, on both databases: rerun the unit, never a 500."""
    await services.dispatcher.handle(Envelope("console", "early", Inbound.from_text("/start")))
    sid = services.dispatcher.pseudonym("console", "early")

    def create_again(s: Session) -> None:
        Repository(s).save_session(sid, channel="console", data=b"x", address=None, new=True)

    with pytest.raises(Contention):
        await services.store.run(create_again)
    attempts: list[int] = []

    def racing_once(s: Session) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            create_again(s)  # as if another process created the row between our read and our insert
        return "stepped"

    assert await services.store.run(racing_once) == "stepped" and len(attempts) == 2
    state, _ = await services.dispatcher.load_state("console", "early")
    assert state == "welcome", "the row the race found is untouched"


async def test_one_conversation_can_queue_only_so_many_messages(services: Services) -> None:
    dispatcher = services.dispatcher
    dispatcher.lanes.max_waiting = 3
    sid = dispatcher.pseudonym("console", "eager")
    async with dispatcher.lanes.hold(sid):  # a step in progress
        waiting = [asyncio.create_task(dispatcher.handle(Envelope("console", "eager", Inbound.from_text(x))))
                   for x in ("/start", "hello")]
        await asyncio.sleep(0)  # one turn of the loop: each new task runs until it waits in the lane
        assert dispatcher.lanes.waiting(sid) == 3
        with pytest.raises(LaneFull):
            await dispatcher.handle(Envelope("console", "eager", Inbound.from_text("again")))
        other = await dispatcher.handle(Envelope("console", "calm", Inbound.from_text("/start")))
        assert other.replies, "another person is not held up"
    assert all(d.replies for d in await asyncio.gather(*waiting))


async def rows(services: Services, table: type) -> int:
    async with services.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(table))).scalar_one())


# ------------------------------------------------------------------------------------------- the webhook
def fast_tuning(**overrides: Any) -> TelegramTuning:
    """The order compared here is the stored steps' replies: /urgent's numbers may not overtake a step that
    is late under this load (that they do when it is late is tested in test_urgent_without_storage)."""
    overrides.setdefault("urgent_grace", 60.0)
    return TelegramTuning(rate_limiter=AIORateLimiter(overall_max_rate=100_000, max_retries=2),
                          flood=FloodGate(rate=100_000, burst=100_000), **overrides)


def telegram_settings(tmp_path: Path, database_url: str, fake: FakeBotAPI) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, secret_key=TEST_KEY,
        telegram_token=TOKEN, telegram_api_url=fake.url, telegram_webhook_url="https://baken.example/telegram/webhook",
    )


class Arrivals:
    """The order updates reach the server: an aiohttp middleware in front of the webhook notes each one."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self._events: dict[int, asyncio.Event] = {}

    @web.middleware
    async def note(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
        if request.path.endswith("/webhook"):
            update_id = int((await request.json())["update_id"])
            self.order.append(update_id)
            self.event(update_id).set()
        return await handler(request)

    def event(self, update_id: int) -> asyncio.Event:
        return self._events.setdefault(update_id, asyncio.Event())


def updates_of(person: Person, script: list[str]) -> list[dict[str, Any]]:
    return [press(person, step[1:]) if step.startswith("#") else text(person, step) for step in script]


def seen_by(fake: FakeBotAPI, person: Person) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the person's chat shows, in order: each message's text and buttons."""
    return [(c.text, c.buttons) for c in fake.of("sendMessage", person.id)]


async def reference(tmp_path: Path, chats: dict[Person, list[dict[str, Any]]]
                    ) -> dict[Person, tuple[Any, list[tuple[str, list[tuple[str, str]]]]]]:
    """Each chat's updates handled one after another (each answered before the next), on a fresh Baken."""
    fake = FakeBotAPI()
    await fake.start()
    baken = BakenOnTelegram(fake, telegram_settings(tmp_path / "reference", f"sqlite+aiosqlite:///{tmp_path}/ref.db",
                                                    fake), "webhook", fast_tuning())
    await baken.start()
    try:
        async def one_chat(updates: list[dict[str, Any]]) -> None:
            for update in updates:
                assert await baken.post(update) == 200

        await asyncio.gather(*(one_chat(u) for u in chats.values()))
        return {p: (await baken.services.dispatcher.load_state("telegram", str(p.id)), seen_by(fake, p))
                for p in chats}
    finally:
        await baken.close()
        await fake.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.close()


async def test_a_chats_updates_arriving_together_at_the_webhook_keep_their_order(
    tmp_path: Path, database_url: str, fake: FakeBotAPI
) -> None:
    """Each chat's next update is sent as soon as the previous one reached the server, not when it is answered."""
    people = [Person(7_400_000_000 + n, "A", LOCALES[n % 4]) for n in range(12)]
    chats = {p: updates_of(p, SCRIPTS[n % len(SCRIPTS)]) for n, p in enumerate(people)}
    arrivals = Arrivals()
    baken = BakenOnTelegram(fake, telegram_settings(tmp_path, database_url, fake), "webhook", fast_tuning())
    baken.app.middlewares.append(arrivals.note)
    await baken.start()
    try:
        async def one_chat(updates: list[dict[str, Any]]) -> list[int]:
            posts = []
            for update in updates:
                posts.append(asyncio.create_task(baken.post(update)))
                await arrivals.event(update["update_id"]).wait()
            return list(await asyncio.gather(*posts))

        statuses = Counter(s for chat in await asyncio.gather(*(one_chat(u) for u in chats.values())) for s in chat)
        got = {p: (await baken.services.dispatcher.load_state("telegram", str(p.id)), seen_by(fake, p))
               for p in people}
        sessions, seen = await rows(baken.services, ConversationSession), await rows(baken.services, InboundSeen)
        async with baken.services.sessions() as s:
            stepped = [int(k) for k in (await s.execute(select(InboundSeen.key).order_by(InboundSeen.id))).scalars()]
    finally:
        await baken.close()
    expected = await reference(tmp_path, chats)
    assert statuses == {200: sum(len(u) for u in chats.values())}, "0 server errors, 0 refused"
    for updates in chats.values():
        ids = {u["update_id"] for u in updates}
        assert [i for i in stepped if i in ids] == [i for i in arrivals.order if i in ids], "stepped as arrived"
    assert sum(got[p] != expected[p] for p in people) == 0, "0 diverged"
    assert sessions == len(people) and seen == sum(len(u) for u in chats.values()), "0 lost, 0 doubled"
    presses = sum(1 for u in itertools.chain(*chats.values()) if "callback_query" in u)
    assert len(fake.of("answerCallbackQuery")) == presses, "every press acknowledged once"


async def test_polled_updates_of_a_chat_fetched_together_keep_their_order(tmp_path: Path, fake: FakeBotAPI) -> None:
    """Long polling hands over a batch: every chat's updates in one getUpdates answer, interleaved."""
    people = [Person(7_400_050_000 + n, "A", LOCALES[n % 4]) for n in range(8)]
    chats = {p: updates_of(p, SCRIPTS[n % len(SCRIPTS)]) for n, p in enumerate(people)}
    settings = telegram_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/p.db", fake)
    baken = BakenOnTelegram(fake, settings.model_copy(update={"telegram_webhook_url": None}), "polling",
                            fast_tuning(poll_timeout=5))
    await baken.start()
    try:
        interleaved = [u for batch in itertools.zip_longest(*chats.values()) for u in batch if u is not None]
        assert await asyncio.gather(*(baken.send(u) for u in interleaved)) == [200] * len(interleaved)
        got = {p: (await baken.services.dispatcher.load_state("telegram", str(p.id)), seen_by(fake, p))
               for p in people}
    finally:
        await baken.close()
    expected = await reference(tmp_path, chats)
    assert sum(got[p] != expected[p] for p in people) == 0, "0 diverged"


async def test_a_button_is_acknowledged_while_its_step_waits(tmp_path: Path, fake: FakeBotAPI) -> None:
    baken = BakenOnTelegram(fake, telegram_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/b.db", fake),
                            "webhook", fast_tuning())
    await baken.start()
    try:
        person = Person(7_400_100_001, "A", "en")
        assert await baken.post(text(person, "/start")) == 200
        sid = baken.services.dispatcher.pseudonym("telegram", str(person.id))
        async with baken.services.dispatcher.lanes.hold(sid):  # the step cannot run yet
            posted = asyncio.create_task(baken.post(press(person, "go")))
            async with asyncio.timeout(10):
                await fake.called("answerCallbackQuery")
            assert not posted.done() and len(fake.of("sendMessage", person.id)) == 1, "the spinner stops first"
        assert await posted == 200
        assert "Who are you?" in fake.of("sendMessage", person.id)[-1].text
    finally:
        await baken.close()


async def test_past_its_bound_the_webhook_asks_telegram_to_come_back(tmp_path: Path, fake: FakeBotAPI) -> None:
    arrivals = Arrivals()
    baken = BakenOnTelegram(fake, telegram_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/b.db", fake),
                            "webhook", fast_tuning(max_pending_updates=2))
    baken.app.middlewares.append(arrivals.note)
    await baken.start()
    try:
        busy, calm = Person(7_400_200_001, "A", "nl"), Person(7_400_200_002, "B", "fr")
        sid = baken.services.dispatcher.pseudonym("telegram", str(busy.id))
        async with baken.services.dispatcher.lanes.hold(sid):
            updates = [text(busy, body) for body in ("/start", "Hallo")]
            held = [asyncio.create_task(baken.post(u)) for u in updates]
            for u in updates:  # arrived: from there nothing waits before the update is in hand
                await arrivals.event(u["update_id"]).wait()
            refused = text(calm, "/start")
            response = await baken.client.post("/telegram/webhook", json=refused,
                                               headers={"X-Telegram-Bot-Api-Secret-Token": baken.secret})
            assert response.status == 503 and response.headers["Retry-After"] == "1"
            assert fake.of("sendMessage", calm.id) == [] and await rows(baken.services, InboundSeen) == 0
        assert await asyncio.gather(*held) == [200, 200]
        assert await baken.post(refused) == 200, "delivered again, it is handled: nothing was dropped"
        assert len(fake.of("sendMessage", calm.id)) == 1
        (hook,) = fake.of("setWebhook")
        assert hook.params["max_connections"] == 64, "Telegram itself sends no more at once than are worked on"
    finally:
        await baken.close()


# ------------------------------------------------------------------------------------------- two processes
@pytest.mark.skipif(not POSTGRES_URL, reason="two processes share a database only on PostgreSQL "
                    "(BAKEN_TEST_POSTGRES_URL, set by .ci/run when a server answers)")
async def test_two_serve_processes_on_one_postgresql_lose_double_and_diverge_nothing(
    tmp_path: Path, fake: FakeBotAPI
) -> None:
    """A chat's updates alternate between the two servers, a few ms apart, its first two at both at once.

    Across processes the step order is the order of the database lock, read back from the order the
    updates were recorded; each chat's state and replies must equal that order handled one at a time.
    """
    from tests.conftest import _postgres_db

    databases = _postgres_db()
    database_url = await asyncio.to_thread(next, databases)  # it runs its own event loop
    try:
        await two_servers(tmp_path, database_url, fake)
    finally:
        await asyncio.to_thread(next, databases, None)


async def two_servers(tmp_path: Path, database_url: str, fake: FakeBotAPI) -> None:
    settings = telegram_settings(tmp_path, database_url, fake)
    await asyncio.to_thread(upgrade, database_url)  # once, before two servers start side by side
    servers = await asyncio.gather(*(serve(settings, tmp_path / f"p{n}") for n in range(2)))
    people = [Person(7_400_300_000 + n, "A", LOCALES[n % 4]) for n in range(6)]
    chats = {p: updates_of(p, SCRIPTS[n % len(SCRIPTS)]) for n, p in enumerate(people)}
    try:
        async with aiohttp.ClientSession() as http:
            async def post(port: int, update: dict[str, Any]) -> int:
                headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(settings)}
                async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update,
                                     headers=headers) as response:
                    body = await response.read()
                    if response.status == 200 and body:  # a reply in the answer: Telegram runs it
                        await fake.run_answer(json.loads(body))
                    return response.status

            async def one_chat(updates: list[dict[str, Any]]) -> list[int]:
                posts = []
                for n, update in enumerate(updates):
                    posts.append(asyncio.create_task(post(servers[n % 2][0], update)))
                    if n:  # the first two together: a new chat's race for its session
                        await asyncio.sleep(0.003)  # the load itself: updates a few ms apart, not awaited
                return list(await asyncio.gather(*posts))

            statuses = Counter(s for c in await asyncio.gather(*(one_chat(u) for u in chats.values())) for s in c)
    finally:
        for _, proc in servers:
            proc.terminate()
            await proc.wait()
    services = await build_services(settings, migrate=False)
    try:
        async with services.sessions() as s:
            handled = [int(k) for k in (await s.execute(select(InboundSeen.key).order_by(InboundSeen.id))).scalars()]
        got = {p: (await services.dispatcher.load_state("telegram", str(p.id)), Counter(map(str, seen_by(fake, p))))
               for p in people}
        sessions = await rows(services, ConversationSession)
    finally:
        await services.close()
    position = {u: i for i, u in enumerate(handled)}
    in_lock_order = {p: sorted(u, key=lambda x: position.get(x["update_id"], -1)) for p, u in chats.items()}
    expected = await reference(tmp_path, in_lock_order)
    total = sum(len(u) for u in chats.values())
    assert statuses == {200: total}, "0 server errors"
    assert len(handled) == len(set(handled)) == total and sessions == len(people), "0 lost, 0 doubled"
    diverged = [p for p in people if got[p] != (expected[p][0], Counter(map(str, expected[p][1])))]
    assert diverged == []


async def serve(settings: Settings, data: Path) -> tuple[int, asyncio.subprocess.Process]:
    """`baken serve` with the webhook on a free port; returned once it answers (it migrates first)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(data), "BAKEN_PORT": str(port), "BAKEN_DATABASE_URL": str(settings.database_url),
            "BAKEN_SECRET_KEY": str(settings.secret_key), "BAKEN_TELEGRAM_TOKEN": TOKEN,
            "BAKEN_TELEGRAM_API_URL": str(settings.telegram_api_url),
            "BAKEN_TELEGRAM_WEBHOOK_URL": str(settings.telegram_webhook_url), "BAKEN_LOG_LEVEL": "WARNING",
            # replies are compared with the stored steps': /urgent's numbers may not overtake a late step here
            "BAKEN_URGENT_GRACE_SECONDS": "60"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "serve", env=env)
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        while True:  # a separate process: its port answering is the only signal it gives
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return port, proc
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


async def test_a_flooder_waiting_holds_no_working_slot(tmp_path: Path, fake: FakeBotAPI) -> None:
    """With room for one update at work, a calm person is answered while a flooder's update waits."""
    waiting = asyncio.Event()
    release = asyncio.Event()

    async def hold(seconds: float) -> None:
        waiting.set()
        await release.wait()

    gate = FloodGate(rate=1.0, burst=1, clock=lambda: 0.0, sleep=hold)  # a frozen clock: the second message waits
    baken = BakenOnTelegram(fake, telegram_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/b.db", fake),
                            "webhook", fast_tuning(max_concurrent_updates=1))
    await baken.start()
    baken.channel.flood = gate
    try:
        flooder, calm = Person(7_400_400_001, "A", "nl"), Person(7_400_400_002, "B", "fr")
        assert await baken.post(text(flooder, "/start")) == 200
        slowed = asyncio.create_task(baken.post(text(flooder, "Hallo")))
        await waiting.wait()
        async with asyncio.timeout(10):  # held up behind the flooder, it would never be answered
            assert await baken.post(text(calm, "/start")) == 200 and not slowed.done()
        release.set()
        assert await slowed == 200
        sent = [c.text for c in fake.of("sendMessage", flooder.id)]
        slow_down = translator("nl")(SLOW_DOWN)
        assert sent.count(slow_down) == 1 and len(sent) == 3, "two answers, and the slow-down notice once"
    finally:
        await baken.close()
