"""Cross-process events: what one process stores wakes the others at once, carrying ids only.

Two Services on one PostgreSQL stand for two processes (each with its own pool and its own listening
connection); the real multi-process runs are in test_scale_out.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from sqlalchemy.orm import Session

from bot.app import Services, build_services
from bot.desk import DeskService
from bot.events import CHANNEL, RELAY, RESYNC, Event, announce_ticket, asyncpg_dsn
from bot.relay import RelayPump, pumping
from bot.settings import Settings
from bot.storage.desk import Desk
from flows.messages import Outbound
from tests.bot.desk_support import consented_ticket, signed_in
from tests.conftest import POSTGRES_URL


@pytest.fixture
async def other(settings: Settings, services: Services) -> AsyncIterator[Services]:
    """A second "process" on the same database, listening."""
    second = await build_services(settings, migrate=False)
    second.store.events.start_listening(settings.db_url)
    services.store.events.start_listening(settings.db_url)
    try:
        await soon(lambda: second.store.events.listening and services.store.events.listening, 10)
        yield second
    finally:
        await second.store.events.stop_listening()
        await services.store.events.stop_listening()
        await second.close()


def heard(services: Services) -> list[Event]:
    got: list[Event] = []
    services.store.events.subscribe(got.append)
    return got


async def soon(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Polls a condition a test cannot await otherwise (another connection's doing)."""
    async with asyncio.timeout(seconds):
        for _ in iter(condition, True):
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("mode", ["commit", "after"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's (BAKEN_TEST_POSTGRES_URL is not set)")
async def test_a_reply_stored_in_one_process_wakes_the_others_ticket_and_relay(
    services: Services, other: Services, mode: str
) -> None:
    services.store.events.mode = mode
    desk = DeskService(services.store, services.keyring)
    ticket = await consented_ticket(services, "p1", channel="web")
    anna = await signed_in(services, "anna")
    events = heard(other)
    signal = other.store.events.ticket(ticket)
    mark = signal.mark()
    await desk.claim(anna, ticket)
    assert await signal.wait(mark, 5), "the other process's ticket page is woken"
    await desk.reply(anna, ticket, "Hallo, ik ben Anna.")
    await soon(lambda: any(e.kind == RELAY and e.key == "web" for e in events))
    assert any(e.ident == ticket for e in events if e.kind == "t")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's (BAKEN_TEST_POSTGRES_URL is not set)")
async def test_notifications_carry_ids_only_and_only_what_committed(services: Services, settings: Settings) -> None:
    payloads: list[str] = []
    conn = await asyncpg.connect(asyncpg_dsn(settings.db_url))
    await conn.add_listener(CHANNEL, lambda *args: payloads.append(args[3]))
    try:
        desk = DeskService(services.store, services.keyring)
        ticket = await consented_ticket(services, "someone@example.org", channel="web", summary="Mijn zoon Jan")
        anna = await signed_in(services, "anna")
        await desk.claim(anna, ticket)
        await desk.reply(anna, ticket, "Een tekst die geheim blijft")

        def rolled_back(s: Session) -> None:
            announce_ticket(s, 999_999)
            raise RuntimeError("the unit fails")

        with pytest.raises(RuntimeError):
            await services.store.run(rolled_back)
        await soon(lambda: len(payloads) >= 3)
        await asyncio.sleep(0.2)
    finally:
        await conn.close()
    for payload in payloads:
        assert re.fullmatch(r"[0-9a-f]{8}\|[rt]:[a-z]*:\d+(,[rt]:[a-z]*:\d+)*", payload), payload
    assert not any("999999" in p for p in payloads), "a rolled-back unit announces nothing"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's (BAKEN_TEST_POSTGRES_URL is not set)")
async def test_a_burst_of_relayed_messages_reaches_the_other_process_whole_in_fewer_notifications(
    services: Services, other: Services
) -> None:
    """Under load the announcements of many commits share one NOTIFY: none of them may be lost on the way."""
    assert services.store.events.mode == "after", "the default"
    sent, events = heard(services), heard(other)
    before = other.store.events.received

    async def relay(n: int) -> None:
        await services.store.run(lambda s: Desk(s).relay(f"burst-{n % 7}", "web", b"sealed"))

    await asyncio.gather(*(relay(n) for n in range(120)))
    ids = {e.ident for e in sent if e.kind == RELAY}
    assert len(ids) == 120
    await soon(lambda: {e.ident for e in events if e.kind == RELAY} >= ids, 10)
    assert other.store.events.received - before < len(ids), "busy commits share their notifications"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's (BAKEN_TEST_POSTGRES_URL is not set)")
async def test_after_its_connection_is_cut_a_process_listens_again_and_resyncs(
    services: Services, other: Services, settings: Settings
) -> None:
    events = heard(other)
    admin = await asyncpg.connect(asyncpg_dsn(settings.db_url))
    try:
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid != pg_backend_pid()")
        assert cut >= 1
    finally:
        await admin.close()
    await soon(lambda: any(e.kind == RESYNC for e in events), 15)
    await soon(lambda: other.store.events.listening)
    desk = DeskService(services.store, services.keyring)
    ticket = await consented_ticket(services, "p2", channel="web")
    anna = await signed_in(services, "anna")
    before = other.store.events.received
    await desk.claim(anna, ticket)
    await soon(lambda: other.store.events.received > before)


async def test_on_sqlite_a_reply_wakes_the_pump_in_the_same_process(services: Services) -> None:
    """No polling needed to be quick: the pump's poll is a minute here, the reply goes at once."""
    if not services.store.is_sqlite:
        pytest.skip("the in-process path; PostgreSQL is tested above")
    sent: list[str] = []

    async def send(_sid: str, _address: str | None, replies: list[Outbound]) -> list[int]:
        sent.extend(r.text for r in replies)
        return []

    desk = DeskService(services.store, services.keyring)
    ticket = await consented_ticket(services, "p3", channel="web")
    anna = await signed_in(services, "anna")
    pump = RelayPump(services.store, services.keyring, "web", send, every=60, slow=60)
    async with pumping(pump):
        await asyncio.sleep(0.1)
        await desk.claim(anna, ticket)
        await desk.reply(anna, ticket, "Dag!")
        await soon(lambda: any("Dag!" in line for line in sent), 3)


def test_an_event_reads_back_as_written_and_refuses_junk() -> None:
    assert Event.decode(Event(RELAY, "web", 42).encode()) == Event(RELAY, "web", 42)
    assert Event.decode("x:web:1") is None and Event.decode("r:web:abc") is None
