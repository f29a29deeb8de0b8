"""Urgent help without storage: with the database locked or unreachable, the numbers still arrive in 2 s.

The database is made really unavailable: another connection holds SQLite's write lock in an exclusive
transaction, or PostgreSQL sits behind a port that is closed while Baken runs. Each test says what becomes of
the message itself: a late step answers afterwards without the numbers a second time; a failed one is not
acknowledged (Telegram delivers it again, and its numbers are not sent twice) or is handed back to the person.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app import build_services
from bot.channels.console import run_console
from bot.settings import Settings
from bot.urgent import NOT_KEPT
from content.i18n import translator
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, Call, FakeBotAPI, Person, press, text
from tests.bot.test_telegram import PEOPLE, fast_tuning
from tests.conftest import POSTGRES_URL, _postgres_db
from tests.server_keys import TEST_KEY

DOWN = "The rest of Baken is down for the moment, so for now I can only give you these numbers."
SLOW = ("The rest of Baken is slow for the moment, so these numbers come first. I will answer the rest of your "
        "message as soon as I can.")
WITHIN = 2.0


def _lock(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, timeout=5, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def _release(conn: sqlite3.Connection) -> None:
    conn.execute("ROLLBACK")
    conn.close()


@asynccontextmanager
async def locked(db: Path) -> AsyncIterator[sqlite3.Connection]:
    """Another writer holds the database: an exclusive transaction, released on leaving. Taken in a thread:
    it may wait for Baken's own last transaction (an answer's bookkeeping), and the server must run meanwhile."""
    conn = await asyncio.to_thread(_lock, db)
    try:
        yield conn
    finally:
        await asyncio.to_thread(_release, conn)


async def first_message(fake: FakeBotAPI, person: Person, after: int, containing: str, within: float) -> Call:
    """The first sendMessage to `person` (after the first `after` of them) containing `containing` ("112":
    the emergency numbers, 112 and 101 together; other screens mention 112 alone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for call in fake.of("sendMessage", person.id)[after:]:
            if containing in call.text and (containing != "112" or "101" in call.text):
                return call
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message with {containing!r} within {within} s")


def numbers_in(calls: list[Call]) -> int:
    return sum("112" in c.text and "101" in c.text for c in calls)


# ---------------------------------------------------------------------------------------------- Telegram
async def test_telegram_urgent_command_with_sqlite_locked_gets_numbers_then_the_rest(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, fake = webhook_baken
    person = PEOPLE["fr"]
    await baken.converse(person, ["/start", "#go"])
    before = len(fake.of("sendMessage", person.id))
    async with locked(baken.settings.data_dir / "baken.sqlite3"):
        asked = time.monotonic()
        post = asyncio.create_task(baken.post(text(person, "/urgent")))
        numbers = await first_message(fake, person, before, "112", WITHIN)
        assert time.monotonic() - asked < WITHIN
        assert "101" in numbers.text
        await first_message(fake, person, before, translator("fr")(SLOW), WITHIN)
        await asyncio.sleep(0.5)
        assert not post.done(), "the update is not acknowledged while it is not stored"
    assert await post == 200, "stored once the lock is gone, and acknowledged then"
    assert numbers_in(fake.of("sendMessage", person.id)[before:]) == 1, "the numbers once, not twice"


async def test_numbers_sent_before_a_late_step_are_not_sent_again_by_a_restarted_process(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """The step stored after the numbers went out counts them as sent on its row: when the process dies before
    Telegram read its answer, the re-delivery (to a process that remembers nothing) sends only the rest."""
    from bot.urgent import NumbersSent

    baken, fake = webhook_baken
    person = PEOPLE["fr"]
    await baken.converse(person, ["/start", "#go"])
    before = len(fake.of("sendMessage", person.id))
    urgent = text(person, "/urgent")
    async with locked(baken.settings.data_dir / "baken.sqlite3"):
        post = asyncio.create_task(baken.post(urgent))
        await first_message(fake, person, before, "112", WITHIN)
    assert await post == 200
    baken.channel._numbers_sent = NumbersSent()  # a new process: nothing of this one's memory
    baken.channel._answering = NumbersSent()
    assert await baken.post(urgent) == 200, "Telegram never read the answer: it delivers the update again"
    assert numbers_in(fake.of("sendMessage", person.id)[before:]) == 1, "the numbers once, across the restart"
    answers = [c for c in fake.calls if c.in_answer and c.chat_id == person.id]
    assert len(answers) >= 2 and answers[-1].params["text"] == answers[-2].params["text"], "the rest, again"


async def test_numbers_sent_without_storage_are_known_to_the_next_process_and_name_no_one(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """The process may die before the late step is stored: the next one, reading the data folder, knows the
    update's numbers went out, and the file holds an update id and a time, nothing of the person."""
    from bot.urgent import NumbersSent

    baken, fake = webhook_baken
    person = PEOPLE["nl"]
    await baken.converse(person, ["/start", "#go"])
    before = len(fake.of("sendMessage", person.id))
    urgent = text(person, "/urgent")
    kept = baken.settings.data_dir / "numbers-sent"
    async with locked(baken.settings.data_dir / "baken.sqlite3"):
        post = asyncio.create_task(baken.post(urgent))
        await first_message(fake, person, before, "112", WITHIN)
        for _ in range(100):  # written just after the numbers went out
            if kept.exists() and str(urgent["update_id"]) in kept.read_text():
                break
            await asyncio.sleep(0.02)
        restarted = NumbersSent(path=kept)
        assert str(urgent["update_id"]) in restarted, "a restarted process would not send them again"
        assert kept.stat().st_mode & 0o777 == 0o600
        assert str(person.id) not in kept.read_text(), "no chat id, no name: an update id and a time"
    assert await post == 200


def test_the_numbers_record_forgets_keys_after_a_day(tmp_path: Path) -> None:
    from bot.urgent import NumbersSent

    kept = tmp_path / "numbers-sent"
    kept.write_text(f"{time.time() - 2 * 24 * 3600:.0f} 111\n{time.time():.0f} 222\nnot a line\n")
    record = NumbersSent(path=kept)
    assert "222" in record and "111" not in record
    assert "111" not in kept.read_text(), "compacted at start: old keys leave the disk too"
    record.add("333")
    record.record("333")
    assert "333" in NumbersSent(path=kept)


async def test_telegram_danger_phrase_and_danger_button_with_sqlite_locked(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, fake = webhook_baken
    person = PEOPLE["de"]
    await baken.converse(person, ["/start", "#go"])
    for update in (text(person, "Er hat gesagt, dass er sich umbringen will."), press(person, "danger:weapons")):
        before = len(fake.of("sendMessage", person.id))
        async with locked(baken.settings.data_dir / "baken.sqlite3"):
            post = asyncio.create_task(baken.post(update))
            call = await first_message(fake, person, before, "112", WITHIN)
            assert "101" in call.text
            await first_message(fake, person, before, translator("de")(SLOW), WITHIN)
        assert await post == 200
        assert numbers_in(fake.of("sendMessage", person.id)[before:]) == 1


async def test_an_ordinary_message_waits_for_storage_and_gets_no_numbers(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, fake = webhook_baken
    person = PEOPLE["nl"]
    await baken.converse(person, ["/start"])
    before = len(fake.of("sendMessage", person.id))
    async with locked(baken.settings.data_dir / "baken.sqlite3"):
        post = asyncio.create_task(baken.post(text(person, "hallo")))
        await asyncio.sleep(1.0)
        assert fake.of("sendMessage", person.id)[before:] == [], "nothing urgent: nothing without storage"
    assert await post == 200


class ClosablePort:
    """A TCP port in front of PostgreSQL that can be closed (connection refused) and opened again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need BAKEN_TEST_POSTGRES_URL (set by .ci/run when a server answers)")
    yield from _postgres_db()


@pytest.fixture
async def baken_on_closable_postgres(
    tmp_path: Path, postgres_url: str,
) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI, ClosablePort]]:
    url = make_url(postgres_url)
    gate = ClosablePort((url.host or "127.0.0.1", url.port or 5432))
    await gate.open()
    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path / "data", database_url=url.set(host="127.0.0.1", port=gate.port).render_as_string(
            hide_password=False), secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook",
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    yield baken, fake, gate
    await baken.close()
    await fake.close()


async def test_telegram_urgent_with_postgres_unreachable_is_redelivered_without_second_numbers(
    baken_on_closable_postgres: tuple[BakenOnTelegram, FakeBotAPI, ClosablePort],
) -> None:
    baken, fake, gate = baken_on_closable_postgres
    person = PEOPLE["en"]
    await baken.converse(person, ["/start", "#go"])
    before = len(fake.of("sendMessage", person.id))
    await gate.close()
    update = text(person, "/urgent")
    asked = time.monotonic()
    post = asyncio.create_task(baken.post(update))
    await first_message(fake, person, before, "112", WITHIN)
    assert time.monotonic() - asked < WITHIN
    await first_message(fake, person, before, DOWN, WITHIN)
    assert await post == 500, "not stored: Telegram must deliver it again"
    assert await baken.post(update) == 500, "still down: delivered again later"
    assert numbers_in(fake.of("sendMessage", person.id)[before:]) == 1, "a re-delivery does not repeat them"
    await gate.open()
    assert await baken.post(update) == 200, "the database is back: the update is stored and acknowledged"
    assert numbers_in(fake.of("sendMessage", person.id)[before:]) == 1, "and its stored answer leaves them out"
    replies = await baken.step(person, "/help")
    assert replies, "the conversation carries on"


# ---------------------------------------------------------------------------------------------- console
class _Lines(io.StringIO):
    """stdin that takes the database's lock just before handing over its one line."""

    def __init__(self, db: Path, line: str, hold: float) -> None:
        super().__init__()
        self.db, self.line, self.hold = db, line, hold
        self.given_at = 0.0
        self._done = False

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self._done:
            return ""
        self._done = True
        conn = sqlite3.connect(self.db, isolation_level=None, timeout=5, check_same_thread=False)
        conn.execute("BEGIN EXCLUSIVE")

        def release() -> None:
            conn.execute("ROLLBACK")
            conn.close()

        threading.Timer(self.hold, release).start()
        self.given_at = time.monotonic()
        return self.line


class _Stamped(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[float, str]] = []

    def write(self, s: str) -> int:
        self.writes.append((time.monotonic(), s))
        return super().write(s)


async def test_console_urgent_with_sqlite_locked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY)
    services = await build_services(settings)
    try:
        stdin = _Lines(tmp_path / "data" / "baken.sqlite3", "/urgent\n", hold=3.0)
        stdout = _Stamped()
        await run_console(services.dispatcher, locale="en", stdin=stdin, stdout=stdout)
    finally:
        await services.close()
    after = [(at, s) for at, s in stdout.writes if at >= stdin.given_at]
    first = next(at for at, s in after if "112" in s and "101" in s)
    assert first - stdin.given_at < WITHIN
    assert any(SLOW in s for _, s in after)
    heads = sum(s.count("If someone is in danger right now, call:") for _, s in after)
    assert heads == 1, "the stored answer, once the lock is gone, leaves the numbers out"
    assert NOT_KEPT not in stdout.getvalue(), "the message was kept in the end"

