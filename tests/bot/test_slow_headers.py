"""Slow request headers (slowloris): the connection is closed within the deadline, others are served."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bot.server import HEADER_DEADLINE, make_app, start_serving, stop_serving
from bot.settings import Settings
from tests.bot.test_server import free_port
from tests.server_keys import TEST_KEY

DEADLINE = 1.0


async def dribble(port: int, every: float, closed: asyncio.Event) -> int:
    """A request head sent one header line every `every` seconds, never finished; the lines sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sent = 0
    try:
        while True:
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), every) == b"":
                    break  # closed by the server
            except TimeoutError:
                writer.write(f"X-Slow-{sent}: a\r\n".encode())
                sent += 1
    except ConnectionError:
        pass
    finally:
        closed.set()
        writer.close()
    return sent


async def test_a_dribbled_request_head_is_cut_off_and_others_are_served(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY, header_timeout_seconds=DEADLINE)
    app = make_app(settings)
    port = free_port()
    runner, listening = await start_serving(app, "127.0.0.1", port)
    try:
        closed = [asyncio.Event() for _ in range(20)]
        began = time.monotonic()
        slow = [asyncio.create_task(dribble(port, 0.2, c)) for c in closed]
        async with aiohttp.ClientSession() as http:
            for _ in range(5):  # meanwhile, someone else is served
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
                await asyncio.sleep(0.1)
        lines = await asyncio.wait_for(asyncio.gather(*slow), 30)
        took = time.monotonic() - began
        assert all(n >= 2 for n in lines), "each kept sending, slowly, until it was cut off"
        assert took < DEADLINE + 5, f"cut off after the deadline, not after the client gave up ({took:.1f} s)"
        assert app[HEADER_DEADLINE].closed == 20
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200, "and the server still serves"
    finally:
        await stop_serving(runner, listening)


async def test_a_kept_alive_connection_is_timed_again_between_requests(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY, header_timeout_seconds=DEADLINE)
    app = make_app(settings)
    port = free_port()
    runner, listening = await start_serving(app, "127.0.0.1", port)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # the next request's head, never finished
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), DEADLINE + 5)  # everything until the server closes
        assert b"HTTP/1.1" not in rest, "no answer to a head that never finished"
        assert reader.at_eof(), "closed: the second head did not arrive in time"
        writer.close()
    finally:
        await stop_serving(runner, listening)
