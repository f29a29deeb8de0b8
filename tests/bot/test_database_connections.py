"""Pooled PostgreSQL connections the server closed are left out at checkout, without the three round trips
of SQLAlchemy's pre-ping before every transaction (bot/storage/database.py).

What a person notices: after the database restarts (or an operator ends Baken's sessions), their next
message is answered as usual, not with an error.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.app import Services
from bot.dispatch import Envelope
from bot.events import asyncpg_dsn
from bot.settings import Settings
from flows.messages import Inbound
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="PostgreSQL's pool (BAKEN_TEST_POSTGRES_URL is not set)")


async def step(services: Services, key: str, inbound: Inbound) -> str:
    delivery = await services.dispatcher.handle(
        Envelope("telegram", "4242", inbound, update_key=key, address="4242"))
    return delivery.replies[-1].text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_after_the_server_ended_every_pooled_connection_the_next_step_is_answered(
    services: Services, settings: Settings
) -> None:
    # fill the pool with several connections, as concurrent updates do
    await asyncio.gather(*(step(services, f"warm-{n}", Inbound.from_text("/start")) for n in range(4)))
    admin = await asyncpg.connect(asyncpg_dsn(settings.db_url))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid != pg_backend_pid() AND query NOT LIKE 'LISTEN%'")
    finally:
        await admin.close()
    assert ended >= 1
    await asyncio.sleep(0.2)  # the closed sockets reach the event loop, as time passes between two messages
    text = await step(services, "after", Inbound.choice("go"))
    assert text, "the step was stored and answered"
    state, _ = await services.dispatcher.load_state("telegram", "4242")
    assert state is not None and state != "welcome"
