"""Nothing stays longer than promised: idle sessions and closed tickets expire; open requests stay."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.app import Services, build_services
from bot.housekeeping import purging
from bot.settings import Settings
from bot.storage.models import ConsentRecord, ConversationSession, Ticket
from bot.storage.retention import Retention, purge
from handover.consent import RETENTION_DAYS
from tests.bot.test_dispatch import PATH, converse
from tests.server_keys import first_run


async def rows(services: Services, table: type) -> int:
    async with services.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(table))).scalar_one())


async def test_idle_sessions_go_but_recent_open_requests_stay(services: Services) -> None:
    await converse(services, "idle", PATH[:5])
    await converse(services, "waiting", PATH)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    counts = await purge(services.store, later)
    assert counts["sessions"] == 1
    assert await rows(services, ConversationSession) == 1, "the person still waiting for a counsellor keeps theirs"
    assert await rows(services, Ticket) == 1


async def test_closed_tickets_go_after_the_promised_days(services: Services) -> None:
    await converse(services, "closed", [*PATH, "/stop"])
    now = dt.datetime.now(dt.UTC)
    assert (await purge(services.store, now + dt.timedelta(days=6)))["tickets"] == 0
    async with services.sessions() as s, s.begin():
        await s.execute(update(Ticket).values(closed_at=now))
    counts = await purge(services.store, now + dt.timedelta(days=31))
    assert counts["tickets"] == 1
    assert await rows(services, Ticket) == 0 and await rows(services, ConsentRecord) == 0


async def test_an_unanswered_request_is_not_kept_forever(services: Services) -> None:
    await converse(services, "waiting", PATH)
    now = dt.datetime.now(dt.UTC)
    assert (await purge(services.store, now + dt.timedelta(days=29)))["requests"] == 0
    counts = await purge(services.store, now + dt.timedelta(days=31))
    assert counts["requests"] == 1 and counts["sessions"] == 1, "the request goes, then the idle session with it"
    assert await rows(services, Ticket) == 0 and await rows(services, ConversationSession) == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, 7), ("3", 3), ("abc", 7), ("", 7), ("0", 7), ("-5", 7), ("99999", 7), ("2.5", 7), (" 14 ", 14)],
)
def test_a_broken_retention_setting_purges_on_the_default(given: str | None, expected: int) -> None:
    policy, warnings = Retention.parse(idle_sessions=given)
    assert policy.idle_session_days == expected
    assert bool(warnings) == (given not in (None, "", "3", " 14 "))


def test_closed_tickets_are_never_kept_longer_than_the_consent_text_promises() -> None:
    policy, warnings = Retention.parse(closed_tickets=str(RETENTION_DAYS + 1))
    assert policy.closed_ticket_days == RETENTION_DAYS and warnings
    assert Retention.parse(closed_tickets="10")[0].closed_ticket_days == 10


async def test_the_server_purges_at_start_and_then_on_its_schedule(services: Services) -> None:
    await converse(services, "idle", PATH[:5])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    rounds: list[dict[str, int]] = []
    second = asyncio.Event()

    def seen(counts: dict[str, int]) -> None:
        rounds.append(counts)
        if len(rounds) == 2:
            second.set()

    async with purging(services.store, every=dt.timedelta(milliseconds=10), clock=lambda: later, after_each=seen):
        async with asyncio.timeout(10):
            await second.wait()
    assert rounds[0]["sessions"] == 1 and rounds[1]["sessions"] == 0
    assert await rows(services, ConversationSession) == 0


def test_baken_db_purge_erases_with_a_broken_setting_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first_run(data)

    async def seed() -> None:
        services = await build_services(Settings(data_dir=data))
        try:
            await converse(services, "idle", PATH[:5])
            async with services.sessions() as s, s.begin():
                await s.execute(
                    update(ConversationSession).values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
                )
        finally:
            await services.close()

    asyncio.run(seed())
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(data), "BAKEN_RETENTION_IDLE_SESSION_DAYS": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "purge"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "purging after 7 days instead" in result.stderr
    assert "purged 1 idle session(s)" in result.stdout


async def test_a_request_where_the_talk_goes_on_is_not_purged_as_untouched(services: Services) -> None:
    await converse(services, "talking", [*PATH, "Are you there?"])
    now = dt.datetime.now(dt.UTC)
    async with services.sessions() as s, s.begin():  # the ticket row itself last changed long ago
        await s.execute(update(Ticket).values(updated_at=now - dt.timedelta(days=40)))
        await s.execute(update(ConversationSession).values(updated_at=now - dt.timedelta(days=3)))
    counts = await purge(services.store, now + dt.timedelta(days=1))
    assert counts["requests"] == 0, "a message in the last 30 days keeps the request"
    assert await rows(services, Ticket) == 1
