"""Shared browser launching for the end-to-end tests: Debian's chromium driven by Playwright, nothing else.

Each area's server fixture lives beside its tests (e.g. `tests/e2e/test_webchat.py`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
    """axe-core from the npm registry (tests/e2e/node/package.json), installed on first use; not in git."""
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
