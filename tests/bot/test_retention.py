"""Nothing stays longer than promised: idle sessions and closed tickets expire; open requests stay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from bot.app import Services
from bot.storage.models import ConsentRecord, ConversationSession, Ticket
from bot.storage.retention import purge
from tests.bot.test_dispatch import PATH, converse


async def rows(services: Services, table: type) -> int:
    async with services.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(table))).scalar_one())


async def test_idle_sessions_go_but_open_requests_stay(services: Services) -> None:
    await converse(services, "idle", PATH[:5])
    await converse(services, "waiting", PATH)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    counts = await purge(services.store, later)
    assert counts["sessions"] == 1
    assert await rows(services, ConversationSession) == 1, "the person still waiting for a counsellor keeps theirs"
    assert await rows(services, Ticket) == 1


async def test_closed_tickets_go_after_the_promised_days(services: Services) -> None:
    await converse(services, "closed", [*PATH, "/stop"])
    now = dt.datetime.now(dt.UTC)
    assert (await purge(services.store, now + dt.timedelta(days=29)))["tickets"] == 0
    async with services.sessions() as s, s.begin():
        await s.execute(update(Ticket).values(closed_at=now))
    counts = await purge(services.store, now + dt.timedelta(days=31))
    assert counts["tickets"] == 1
    assert await rows(services, Ticket) == 0 and await rows(services, ConsentRecord) == 0
