"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI
from tests.bot.test_telegram import fast_tuning
from tests.server_keys import TEST_KEY


@pytest.fixture
async def webhook_baken(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    """Baken on the webhook against a fresh fake Bot API: for tests that post raw or repeated updates."""
    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path / "data", secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook",
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    yield baken, fake
    await baken.close()
    await fake.close()
