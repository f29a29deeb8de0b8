"""`/healthz` says the process lives; `/readyz` says it can serve: database answering, migrations at head."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.server import make_app
from bot.settings import Settings
from bot.storage.migrate import downgrade, upgrade
from tests.conftest import POSTGRES_URL, _postgres_db
from tests.server_keys import TEST_KEY


async def _get(server: TestServer, path: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as r:
        return r.status, await r.json()


@pytest.fixture
async def sqlite_server(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Settings]]:
    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY)
    async with TestServer(make_app(settings), host="127.0.0.1") as srv:
        yield srv, settings


async def test_a_fresh_database_is_ready_and_the_process_alive(sqlite_server: tuple[TestServer, Settings]) -> None:
    server, _ = sqlite_server
    assert await _get(server, "/healthz") == (200, {"status": "ok", "service": "baken"})
    assert await _get(server, "/readyz") == (200, {"status": "ready"})


async def test_a_locked_database_is_not_ready_then_ready_again(sqlite_server: tuple[TestServer, Settings]) -> None:
    server, settings = sqlite_server
    assert (await _get(server, "/readyz"))[0] == 200
    other = sqlite3.connect(settings.data_dir / "baken.sqlite3", timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the database: nothing can be written
        loop = asyncio.get_running_loop()
        began = loop.time()
        status, body = await _get(server, "/readyz")
        assert (status, body) == (503, {"status": "not ready", "reason": "database not answering"})
        assert loop.time() - began < 10, "answers within its timeout, not the 30 s busy wait"
        assert (await _get(server, "/healthz"))[0] == 200, "alive all the same: no restart for a busy database"
    finally:
        other.execute("ROLLBACK")
        other.close()
    for _ in range(100):  # the blocked query frees its connection when SQLite's wait ends
        if (await _get(server, "/readyz"))[0] == 200:
            break
        await asyncio.sleep(0.1)
    assert await _get(server, "/readyz") == (200, {"status": "ready"})


async def test_a_missing_migration_is_not_ready_until_upgraded(sqlite_server: tuple[TestServer, Settings]) -> None:
    server, settings = sqlite_server
    await asyncio.to_thread(downgrade, settings.db_url, "-1")
    status, body = await _get(server, "/readyz")
    assert status == 503 and body["reason"] == "migrations behind: run `baken db upgrade`"
    await asyncio.to_thread(upgrade, settings.db_url)
    assert await _get(server, "/readyz") == (200, {"status": "ready"})


async def test_a_database_at_a_newer_revision_keeps_the_old_version_serving(
    sqlite_server: tuple[TestServer, Settings],
) -> None:
    """A rolling upgrade runs `baken db upgrade` first: the processes still on the old code stay in rotation."""
    server, settings = sqlite_server
    db = sqlite3.connect(settings.data_dir / "baken.sqlite3", isolation_level=None)
    try:
        db.execute("UPDATE alembic_version SET version_num = 'zz_from_a_newer_release'")
    finally:
        db.close()
    assert await _get(server, "/readyz") == (200, {"status": "ready"})


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need BAKEN_TEST_POSTGRES_URL (set by .ci/run when a server answers)")
    yield from _postgres_db()


async def test_a_dropped_postgresql_database_is_not_ready(pg_url: str, tmp_path: Path) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY, database_url=pg_url)
    async with TestServer(make_app(settings), host="127.0.0.1") as server:
        assert await _get(server, "/readyz") == (200, {"status": "ready"})
        url = make_url(pg_url)
        admin = await asyncpg.connect(url.set(drivername="postgresql", database="postgres")
                                      .render_as_string(hide_password=False))
        try:
            await admin.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
        finally:
            await admin.close()
        status, body = await _get(server, "/readyz")
        assert (status, body) == (503, {"status": "not ready", "reason": "database unreachable"})
        assert (await _get(server, "/healthz"))[0] == 200


async def test_metrics_still_answer_while_the_database_is_locked(sqlite_server: tuple[TestServer, Settings]) -> None:
    server, settings = sqlite_server
    other = sqlite3.connect(settings.data_dir / "baken.sqlite3", timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as r:
            body = await r.text()
        assert r.status == 200 and "process_resident_memory_bytes" in body
        assert loop.time() - began < 10, "the queue read gives up in time; the rest is served"
    finally:
        other.execute("ROLLBACK")
        other.close()
