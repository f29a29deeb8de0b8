"""Every response carries the security headers; no log line names a client address or a pseudonym."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.log_privacy import PrivateLogFilter, scrub
from bot.server import make_app
from bot.settings import Settings
from tests.server_keys import TEST_KEY


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    app = make_app(Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug in a handler")

    app.router.add_get("/broken-for-test", broken)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv


@pytest.mark.parametrize("path", ["/", "/privacy", "/healthz", "/no-such-page"])
async def test_every_response_carries_the_security_headers(server: TestServer, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as r:
        assert r.headers["Server"] == "Baken", "no aiohttp or Python version"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors" in csp and "unsafe-inline" not in csp


async def test_an_error_log_names_no_client_address(server: TestServer, caplog: pytest.LogCaptureFixture) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(PrivateLogFilter())
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/broken-for-test")) as r:
            assert r.status == 500
    finally:
        logging.getLogger().removeHandler(handler)
    errors = [line for line in records if "Error handling request" in line]
    assert errors, "aiohttp logged the failure"
    assert all("127.0.0.1" not in line for line in records)


def test_scrub_masks_addresses_and_pseudonyms_but_keeps_the_sense() -> None:
    sid = "3f9a1c0b" * 8
    line = f"Error handling request from 203.0.113.9 for {sid[:8]}… and [2001:db8::1] session {sid}"
    clean = scrub(line)
    assert "203.0.113.9" not in clean and "2001:db8::1" not in clean and sid not in clean
    assert clean.startswith("Error handling request from <address>")
    assert scrub("purged 3 idle session(s) at 14:05:09") == "purged 3 idle session(s) at 14:05:09"
