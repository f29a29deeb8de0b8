"""Browser tests: the real server on loopback driven by Debian's chromium through Playwright, nothing else.

Shared by every browser test; each area's server fixture lives beside its tests and says what it serves
(`webchat_server` in `test_webchat.py`, `dashboard_server` here).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_keys import TEST_KEY

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]
NODE_DIR = Path(__file__).parent / "node"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not HAVE_CHROMIUM:
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (.ci/run installs it; "
                    "elsewhere: apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from the npm registry (tests/e2e/node/package.json), installed on first use; not in git. The
    test workers (pytest-xdist) take turns: one installs, the others find it there."""
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE.exists():
            npm = shutil.which("npm")
            if npm is None:
                pytest.skip("the accessibility check needs npm to install axe-core")
            result = subprocess.run(
                [npm, "install", "--prefix", str(NODE_DIR), "--no-package-lock", "--no-audit", "--no-fund"],
                capture_output=True, text=True, timeout=300, check=False,
            )
            if result.returncode != 0 or not AXE.exists():
                pytest.skip(f"npm could not install axe-core: {result.stderr[-300:]}")
        return AXE.read_text()
#: mark a browser test with this; it skips, saying why, only when Debian's chromium is not installed
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
async def dashboard_chromium(browser: Any) -> Any:
    """The dashboard tests' name for the one shared browser."""
    return browser


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
        secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook", telegram_counsellor_chat_id=-100777,
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    try:
        yield baken
    finally:
        await baken.close()
        await fake.close()
