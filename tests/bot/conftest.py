"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.server import make_app
from bot.settings import Settings
from tests.bot.desk_support import Dashboard
from tests.bot.fake_telegram import BakenOnTelegram, FakeBotAPI, on_webhook
from tests.bot.test_telegram import fast_tuning
from tests.server_keys import TEST_KEY


@pytest.fixture
async def webhook_baken(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    """Baken on the webhook against a fresh fake Bot API: for tests that post raw or repeated updates."""
    fake, baken = await on_webhook(tmp_path / "data", fast_tuning())
    yield baken, fake
    await baken.close()
    await fake.close()


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[Dashboard]:
    """The whole server on loopback, the dashboard in development mode (no HTTPS needed for its cookies)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}",
                        secret_key=TEST_KEY, dashboard_dev=True)
    app = make_app(settings)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Dashboard(client, app)
    finally:
        await client.close()
