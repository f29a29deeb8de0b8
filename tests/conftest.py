from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import Services, build_services
from bot.settings import Settings
from flows.bundle import load_content
from flows.conversation import Content
from flows.engine import Engine
from tests.scripted import ScriptedUser
from tests.server_keys import TEST_KEY

POSTGRES_URL = os.environ.get("BAKEN_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture(scope="session")
def engine(content: Content) -> Engine:
    return Engine(content)


@pytest.fixture
def user(engine: Engine) -> ScriptedUser:
    return ScriptedUser(engine, "en")


def _postgres_db() -> Iterator[str]:
    """A throw-away database on the PostgreSQL server named by BAKEN_TEST_POSTGRES_URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URL or "")
    name = f"baken_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _backends() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL,
                reason="PostgreSQL tests need BAKEN_TEST_POSTGRES_URL (set by .ci/run when a server answers)",
            ),
        )
    )
    return params


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'baken.sqlite3'}"
    else:
        yield from _postgres_db()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key=TEST_KEY)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    s = await build_services(settings)
    try:
        yield s
    finally:
        await s.close()
