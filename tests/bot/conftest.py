"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.fake_telegram import BakenOnTelegram, FakeBotAPI, on_webhook
from tests.bot.test_telegram import fast_tuning


@pytest.fixture
async def webhook_baken(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    """Baken on the webhook against a fresh fake Bot API: for tests that post raw or repeated updates."""
    fake, baken = await on_webhook(tmp_path / "data", fast_tuning())
    yield baken, fake
    await baken.close()
    await fake.close()
