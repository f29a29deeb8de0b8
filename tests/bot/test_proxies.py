"""Behind nginx: limits count per real client only when the proxy is trusted; others cannot pick an address."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.proxies import client_address, parse_networks
from bot.server import make_app
from bot.settings import Settings
from tests.server_keys import TEST_KEY

BAD_CODE = {"code": "ABCD-EFGH-JKMN"}

Serve = Callable[[str], AbstractAsyncContextManager[TestServer]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    @asynccontextmanager
    async def run(trusted: str) -> AsyncIterator[TestServer]:
        settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY, trusted_proxies=trusted)
        async with TestServer(make_app(settings), host="127.0.0.1") as srv:
            yield srv

    return run


async def _resume_statuses(server: TestServer, client: str, tries: int) -> list[int]:
    out = []
    async with aiohttp.ClientSession() as http:
        for _ in range(tries):
            async with http.post(server.make_url("/chat/resume"), json=BAD_CODE,
                                 headers={"X-Forwarded-For": client}) as r:
                out.append(r.status)
    return out


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(serve: Serve) -> None:
    async with serve("127.0.0.1, ::1") as server:
        assert (await _resume_statuses(server, "198.51.100.7", 6))[-1] == 429
        assert await _resume_statuses(server, "203.0.113.9", 1) == [404], "another person is not held back"


async def test_an_untrusted_peer_cannot_choose_its_address(serve: Serve) -> None:
    async with serve("") as server:
        assert (await _resume_statuses(server, "198.51.100.7", 6))[-1] == 429
        assert await _resume_statuses(server, "203.0.113.9", 1) == [429], "the header is ignored: same peer"


async def test_the_widget_names_https_when_the_trusted_proxy_terminates_tls(serve: Serve) -> None:
    for trusted, scheme in (("127.0.0.1", "https"), ("", "http")):
        async with serve(trusted) as server, aiohttp.ClientSession() as http, http.get(
            server.make_url("/widget.js"), headers={"X-Forwarded-Proto": "https", "Host": "baken.example"}
        ) as r:
            assert f"{scheme}://baken.example" in await r.text()


def test_the_nearest_untrusted_hop_is_the_client() -> None:
    trusted = parse_networks("127.0.0.1,10.0.0.0/8")
    assert client_address("127.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3", trusted) == "198.51.100.7", \
        "a client-written first hop is not believed"
    assert client_address("192.0.2.1", "198.51.100.7", trusted) == "192.0.2.1", "not from a trusted proxy"
    assert client_address("127.0.0.1", "not-an-address", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"


def test_a_broken_proxy_list_stops_the_start() -> None:
    with pytest.raises(ValueError, match="not an address"):
        parse_networks("127.0.0.1, nginx.local")


async def test_the_web_chat_socket_works_through_a_trusted_proxy(serve: Serve) -> None:
    async with serve("127.0.0.1") as server, aiohttp.ClientSession() as http, http.ws_connect(
        server.make_url("/chat/ws"), headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    ) as ws:
        await ws.send_json({"type": "hello", "token": None, "lang": "en", "fresh": True})
        frame = await ws.receive_json(timeout=10)
        assert frame["type"] == "session" and frame["new"] is True
