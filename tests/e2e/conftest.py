"""Browser tests: the real server on loopback driven by Debian's chromium through Playwright.

Shared by every browser test; fixture names say what they serve (`dashboard_server`, `dashboard_chromium`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
#: mark a browser test with this; it skips, saying why, only when Debian's chromium is not installed
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
async def dashboard_chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def dashboard_server(tmp_path: Path) -> AsyncIterator[Any]:
    """Baken with Telegram (webhook, against the fake Bot API) and the dashboard, on one loopback port."""
    from bot.settings import Settings
    from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI
    from tests.bot.test_telegram import fast_tuning

    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'baken.sqlite3'}",
        secret_key="test-secret-key-0123456789", telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook", telegram_counsellor_chat_id=-100777,
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    try:
        yield baken
    finally:
        await baken.close()
        await fake.close()
