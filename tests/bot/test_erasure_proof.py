"""/forget erases for good: a copy of the data folder, or PostgreSQL's raw pages, taken right after it hold
nothing of the conversation that any key the server still has can read.

Each test first takes the same copy before /forget and shows the canaries ARE readable there with the same
tools, so a search that could not find them would fail the test instead of passing it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Services, build_services
from bot.desk import DeskService
from bot.dispatch import Envelope
from bot.settings import Settings
from bot.storage import data_keys
from bot.storage.models import Ticket
from flows.messages import Inbound
from tests.bot.desk_support import signed_in
from tests.canary import copy_folder, folder_bytes, keys_held, readable, unwrappable_windows, wrapped_rows_sqlite
from tests.conftest import POSTGRES_URL, _postgres_db
from tests.server_keys import TEST_KEY

PHONE = "0471 23 45 67"
STORY = f"Mijn zoon Kobe praat alleen nog over de groep van Zwartewaterbrug-kanarie. Bel me op {PHONE}."
RELAYED = "Relayed canary: the meeting is at Lindenhof-kanarie on Friday."
REPLY = "Counsellor canary: Meerhout-kanarie is a place we know."
CANARIES = ("Zwartewaterbrug-kanarie", PHONE, "Lindenhof-kanarie", "Meerhout-kanarie")
PATH = [
    "/start", "#go", "#role:parent", "#reason:young_person", STORY, "#go", "#age:16-17", "#tick:violence_ok",
    "#tick:withdrawn", "#go", "#go", "#duration:months", "#go", "#danger:none", "#counsellor", "#goal:referral",
    "#consent",
]
USER = "canary-person"


async def say(services: Services, steps: list[str]) -> None:
    for step in steps:
        inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
        delivery = await services.dispatcher.handle(
            Envelope("console", USER, inbound, update_key=uuid.uuid4().hex, locale_hint="nl"))
        await services.dispatcher.delivered(delivery.outbox_ids)


async def a_canary_conversation(services: Services) -> tuple[str, int]:
    """The story with a phone number, a relayed message, a counsellor's answer: every place words are kept."""
    await say(services, PATH)
    await say(services, [RELAYED])
    sid = services.dispatcher.pseudonym("console", USER)
    ticket_id = await services.store.run(
        lambda s: s.execute(text("SELECT id FROM tickets WHERE session_id = :sid"), {"sid": sid}).scalar_one())
    desk = DeskService(services.store, services.keyring)
    anna = await signed_in(services, "anna", languages="nl,fr")
    await desk.claim(anna, ticket_id)
    await desk.reply(anna, ticket_id, REPLY)
    view = await desk.view(anna, ticket_id)
    assert PHONE in (view.story or view.summary) and any(RELAYED in m.text for m in view.messages)
    return sid, int(ticket_id)


async def forget(services: Services) -> None:
    await say(services, ["/forget", "#forget_yes"])
    state, _ = await services.dispatcher.load_state("console", USER)
    assert state is None, "the session is gone"


@pytest.fixture
async def sqlite_services(tmp_path: Path) -> AsyncIterator[tuple[Services, Settings]]:
    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY)
    services = await build_services(settings)
    try:
        yield services, settings
    finally:
        await services.close()


async def test_a_copy_of_the_sqlite_folder_after_forget_reads_nothing_back(
    sqlite_services: tuple[Services, Settings], tmp_path: Path
) -> None:
    services, settings = sqlite_services
    secret = settings.secret
    sid, ticket_id = await a_canary_conversation(services)
    their_keys = [data_keys.session_key_id(sid), data_keys.ticket_key_id(ticket_id)]

    before = copy_folder(settings.data_dir, tmp_path / "before")
    raw = folder_bytes(before)
    assert not [c for c in CANARIES if c.encode() in raw], "never in plain text, even before"
    held = keys_held(secret, wrapped_rows_sqlite(before / "baken.sqlite3"))
    assert readable(raw, held, CANARIES) == set(CANARIES), "control: before /forget the keys read every canary"
    assert unwrappable_windows(raw, secret, their_keys) == their_keys, "control: the wrapped keys are found"

    await forget(services)
    after = copy_folder(settings.data_dir, tmp_path / "after")  # the server still holds the files open
    assert {p.name for p in after.iterdir()} >= {"baken.sqlite3", "baken.sqlite3-wal"}
    assert (after / "baken.sqlite3-wal").stat().st_size == 0, "the WAL was checkpointed and truncated"
    raw = folder_bytes(after)
    assert [c for c in CANARIES if c.encode() in raw] == []
    held = keys_held(secret, wrapped_rows_sqlite(after / "baken.sqlite3"))
    assert len(held) >= 2, "the server's own keys are still there and were tried"
    assert readable(raw, held, CANARIES) == set(), "no key the server holds reads any canary"
    assert unwrappable_windows(raw, secret, their_keys) == [], "no trace of their keys in any page or frame"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("the PostgreSQL page test needs BAKEN_TEST_POSTGRES_URL (a server where "
                    "CREATE EXTENSION pageinspect is allowed)")
    yield from _postgres_db()


@pytest.fixture
async def postgres_services(tmp_path: Path, postgres_url: str) -> AsyncIterator[tuple[Services, Settings]]:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, secret_key=TEST_KEY)
    services = await build_services(settings)
    try:
        yield services, settings
    finally:
        await services.close()


async def raw_pages(db: AsyncEngine) -> bytes:
    """Every page of every table and index of the database, as pageinspect reads them from disk (a superuser's
    engine: pageinspect is theirs)."""
    async with db.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
        await auto.exec_driver_sql("CHECKPOINT")
        relations = (await auto.exec_driver_sql(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / current_setting('block_size')::int "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't')")).all()
        chunks = []
        for name, blocks in relations:
            for block in range(int(blocks)):
                page = (await auto.execute(text("SELECT get_raw_page(:rel, :blk)"),
                                           {"rel": name, "blk": block})).scalar_one()
                chunks.append(bytes(page))
        return b"".join(chunks)


async def live_wrapped_keys(services: Services) -> list[tuple[str, int, int, bytes]]:
    async with services.db.connect() as conn:
        rows = (await conn.execute(text("SELECT id, version, master_version, wrapped FROM data_keys"))).all()
    return [(str(r[0]), int(r[1]), int(r[2]), bytes(r[3])) for r in rows]


async def test_postgres_pages_after_forget_read_nothing_back(postgres_services: tuple[Services, Settings]) -> None:
    services, settings = postgres_services
    secret = settings.secret
    sid, ticket_id = await a_canary_conversation(services)
    their_keys = [data_keys.session_key_id(sid), data_keys.ticket_key_id(ticket_id)]

    raw = await raw_pages(services.db)
    held = keys_held(secret, await live_wrapped_keys(services))
    assert not [c for c in CANARIES if c.encode() in raw], "never in plain text, even before"
    assert readable(raw, held, CANARIES) == set(CANARIES), "control: before /forget the keys read every canary"
    assert unwrappable_windows(raw, secret, their_keys) == their_keys, "control: the wrapped keys are found"

    await forget(services)
    await services.store.wait_for_erasure()  # a transaction elsewhere in the cluster may delay the rewrite
    raw = await raw_pages(services.db)
    async with services.db.connect() as conn:
        dead = (await conn.execute(text("SELECT count(*) FROM tickets WHERE id = :id"), {"id": ticket_id})).scalar()
    assert dead == 0
    held = keys_held(secret, await live_wrapped_keys(services))
    assert [c for c in CANARIES if c.encode() in raw] == []
    assert readable(raw, held, CANARIES) == set(), "the erased rows' dead tuples are noise to every key"
    assert unwrappable_windows(raw, secret, their_keys) == [], "their keys are in no page, dead or alive"
    assert Ticket.__tablename__ == "tickets"
