""""Take next": each counsellor pressing it gets the top ticket they may take, never one a colleague got.

On SQLite and PostgreSQL (when configured); the SKIP LOCKED test is PostgreSQL's own.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.app import Services
from bot.desk import DeskService
from bot.events import asyncpg_dsn
from tests.bot.desk_support import consented_ticket, signed_in
from tests.conftest import POSTGRES_URL


def desk_of(services: Services) -> DeskService:
    return DeskService(services.store, services.keyring)


async def test_counsellors_taking_next_at_once_each_get_a_different_ticket(services: Services) -> None:
    desk = desk_of(services)
    urgent = await consented_ticket(services, "u", level="urgent", priority=9)
    others = [await consented_ticket(services, f"p{n}") for n in range(5)]
    people = [await signed_in(services, f"c{n}") for n in range(7)]
    taken = await asyncio.gather(*(desk.take_next(me) for me in people))
    got = [t for t in taken if t is not None]
    assert sorted(got) == sorted([urgent, *others]), "every ticket taken once, none twice"
    assert taken.count(None) == 1, "the seventh counsellor is told there is nothing left"
    for me, ticket in zip(people, taken, strict=True):
        if ticket is not None:
            view = await desk.view(me, ticket)
            assert view.status == "claimed" and view.holder_id == me.counsellor_id


async def test_take_next_starts_with_the_most_urgent_the_counsellor_may_see(services: Services) -> None:
    desk = desk_of(services)
    german = await consented_ticket(services, "de", locale="de", level="urgent", priority=9)
    concern = await consented_ticket(services, "nl1")
    serious = await consented_ticket(services, "nl2", level="serious", priority=5)
    dutch_speaker = await signed_in(services, "anna", languages="nl")
    assert await desk.take_next(dutch_speaker) == serious, "the German ticket is not hers to take"
    assert await desk.take_next(dutch_speaker) == concern
    assert await desk.take_next(dutch_speaker) is None
    assert german


@pytest.mark.skipif(not POSTGRES_URL, reason="SKIP LOCKED is PostgreSQL's (BAKEN_TEST_POSTGRES_URL is not set)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_ticket_locked_by_another_take_next_is_skipped_not_waited_for(services: Services) -> None:
    desk = desk_of(services)
    first = await consented_ticket(services, "p1", level="urgent", priority=9)
    second = await consented_ticket(services, "p2")
    anna = await signed_in(services, "anna")
    conn = await asyncpg.connect(asyncpg_dsn(services.settings.db_url))
    try:
        async with conn.transaction():  # a colleague's take next, mid-transaction, holding the first ticket
            await conn.execute("SELECT id FROM tickets WHERE id = $1 FOR UPDATE", first)
            async with asyncio.timeout(5):  # without SKIP LOCKED this would wait for the colleague
                assert await desk.take_next(anna) == second
    finally:
        await conn.close()
