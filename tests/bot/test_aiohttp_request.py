"""Baken's aiohttp backend for PTB against the fake Bot API and small misbehaving servers on loopback.

What a person would notice if it went wrong: a reply that never leaves, or leaves twice; a bot that hangs on
a slow Telegram instead of giving up and letting Telegram deliver the update again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.telegram.aiohttp_request import AiohttpRequest
from bot.channels.telegram.channel import TelegramChannel, TelegramTuning, build_application
from bot.settings import Settings
from tests.bot.fake_telegram import BOT_ID, TOKEN, FakeBotAPI
from tests.bot.test_telegram import fast_tuning

CHAT = 7301234599


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.close()


def bot_on(url: str, request: AiohttpRequest, **kwargs: Any) -> Bot:
    return Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", request=request, **kwargs)


class SlowAPI:
    """A Bot API that takes `delay` seconds to answer and counts the requests it is working on at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.now = 0
        self.most = 0
        self.received = 0
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received += 1
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1
        return web.json_response({"ok": True, "result": {"id": BOT_ID, "is_bot": True, "first_name": "Baken",
                                                         "username": "BakenTestBot"}})

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.close()


# ---------------------------------------------------------------------- the ordinary path
async def test_messages_reach_telegram_whole(fake: FakeBotAPI) -> None:
    """Text with HTML, accents and emoji, and a keyboard, arrive as sent; the answer comes back parsed."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    async with bot_on(fake.url, AiohttpRequest()) as bot:
        assert bot.username == "BakenTestBot"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ja, ga verder", callback_data="go")]])
        sent = await bot.send_message(CHAT, "Één <b>stap</b> & nog één 🙂", parse_mode="HTML", reply_markup=markup)
    call = fake.of("sendMessage", CHAT)[0]
    assert call.text == "Één <b>stap</b> & nog één 🙂"
    assert call.buttons == [("go", "Ja, ga verder")]
    assert sent.message_id == call.message_id


async def test_a_file_goes_up_as_multipart(fake: FakeBotAPI, tmp_path: Path) -> None:
    """A QR code poster (PNG bytes) reaches Telegram with its name, type and every byte."""
    from bot.channels.telegram.links import write_qr

    png = tmp_path / "poster.png"
    write_qr("https://t.me/BakenTestBot?start=school", png)
    body = png.read_bytes()
    async with bot_on(fake.url, AiohttpRequest()) as bot:
        sent = await bot.send_document(CHAT, InputFile(body, filename="poster.png"), caption="Poster")
    call = fake.of("sendDocument", CHAT)[0]
    assert call.params["caption"] == "Poster"
    assert call.files["document"] == ("poster.png", "image/png", body)
    assert sent.document is not None and sent.document.file_size == len(body)


# ---------------------------------------------------------------------- Telegram's refusals, as PTB raises them
async def test_flood_wait_is_retry_after_and_server_errors_are_network_errors(fake: FakeBotAPI) -> None:
    async with bot_on(fake.url, AiohttpRequest()) as bot:
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(CHAT, "a")
        assert flood.value._retry_after == dt.timedelta(seconds=7)
        for status in (500, 502, 503):
            fake.fail_next("sendMessage", status, "Internal Server Error")
            with pytest.raises(NetworkError) as broken:
                await bot.send_message(CHAT, "b")
            assert not isinstance(broken.value, (RetryAfter, TimedOut))
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        with pytest.raises(Forbidden):
            await bot.send_message(CHAT, "c")
        fake.fail_next("sendMessage", 400, "Bad Request: message is too long")
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(CHAT, "d")
    assert fake.of("sendMessage") == []  # every attempt was refused: the backend itself retried none
    assert len([c for c in fake.calls if c.method == "sendMessage"]) == 6


async def test_bakens_limiter_waits_out_a_flood_wait_but_never_repeats_a_server_error(fake: FakeBotAPI) -> None:
    """The policy Baken runs in production: a 429 is retried after its wait (one message arrives, once); a
    5xx is not (Telegram may have sent it): it fails the update, which Telegram delivers again."""
    async with ExtBot(TOKEN, base_url=f"{fake.url}/bot", request=AiohttpRequest(),
                      rate_limiter=AIORateLimiter(max_retries=3)) as bot:
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        await bot.send_message(CHAT, "after the wait")
        assert [c.text for c in fake.of("sendMessage", CHAT)] == ["after the wait"]
        assert len([c for c in fake.calls if c.method == "sendMessage"]) == 2
        fake.fail_next("sendMessage", 500, "Internal Server Error")
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "lost?")
    assert len([c for c in fake.calls if c.method == "sendMessage"]) == 3


# ---------------------------------------------------------------------- timeouts and the pool
async def test_a_slow_answer_times_out() -> None:
    slow = SlowAPI(delay=2.0)
    async with slow as url:
        request = AiohttpRequest(read_timeout=0.2)
        await request.initialize()
        try:
            bot = bot_on(url, request)
            started = asyncio.get_running_loop().time()
            with pytest.raises(TimedOut):
                await bot.get_me()
            assert asyncio.get_running_loop().time() - started < 1.5
            # a longer read timeout for one call (as long polling asks) is honoured
            slow.delay = 0.4
            assert (await bot.get_me(read_timeout=2.0)).id == BOT_ID
        finally:
            await request.shutdown()


async def test_a_connect_that_never_completes_times_out() -> None:
    """A listening socket whose backlog is full drops new SYNs: the connect hangs until its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later connects are left without an answer
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    request = AiohttpRequest(connect_timeout=0.3)
    await request.initialize()
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimedOut):
            await bot_on(f"http://127.0.0.1:{port}", request).get_me()
        assert asyncio.get_running_loop().time() - started < 2.0
    finally:
        await request.shutdown()
        for s in fillers:
            s.close()
        listener.close()


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(refused.value, TimedOut)


async def test_the_pool_bounds_requests_in_flight() -> None:
    slow = SlowAPI(delay=0.1)
    async with slow as url:
        request = AiohttpRequest(connection_pool_size=2, pool_timeout=5.0)
        await request.initialize()
        try:
            bot = bot_on(url, request)
            results = await asyncio.gather(*(bot.get_me() for _ in range(6)))
        finally:
            await request.shutdown()
    assert [u.id for u in results] == [BOT_ID] * 6
    assert slow.most == 2


async def test_a_full_pool_times_out_without_sending() -> None:
    slow = SlowAPI(delay=1.0)
    async with slow as url:
        request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1)
        await request.initialize()
        try:
            bot = bot_on(url, request)
            first = asyncio.create_task(bot.get_me())
            await asyncio.sleep(0.05)
            with pytest.raises(TimedOut, match="Pool timeout"):
                await bot.get_me()
            assert (await first).id == BOT_ID
        finally:
            await request.shutdown()
    assert slow.received == 1  # the second request never left


# ---------------------------------------------------------------------- proxy, base URL, life cycle
async def _proxy_stub(seen: list[bytes]) -> asyncio.Server:
    """A forward proxy on loopback that answers getMe itself and records each request line."""

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0])
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")) or 0)
        await reader.readexactly(length)
        body = (b'{"ok":true,"result":{"id":%d,"is_bot":true,"first_name":"Baken","username":"BakenTestBot"}}'
                % BOT_ID)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    return await asyncio.start_server(proxy, "127.0.0.1", 0)


async def test_requests_go_through_an_http_proxy() -> None:
    """With a proxy, the request line carries the Bot API's full URL (token path included) to the proxy."""
    seen: list[bytes] = []
    server = await _proxy_stub(seen)
    port = server.sockets[0].getsockname()[1]
    try:
        async with bot_on("http://api.telegram.invalid", AiohttpRequest(proxy=f"http://127.0.0.1:{port}")) as bot:
            assert bot.username == "BakenTestBot"
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [f"POST http://api.telegram.invalid/bot{TOKEN}/getMe HTTP/1.1".encode()]


async def test_the_environments_proxy_is_used_and_no_proxy_is_honoured(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY from the environment carries every request (not only the first); a host in
    NO_PROXY is reached directly."""
    seen: list[bytes] = []
    server = await _proxy_stub(seen)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        async with bot_on("http://api.telegram.invalid", AiohttpRequest()) as bot:
            assert bot.username == "BakenTestBot"
            await bot.get_me()
        async with bot_on(fake.url, AiohttpRequest()) as direct:  # the fake Bot API is on 127.0.0.1
            await direct.send_message(CHAT, "direct")
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [f"POST http://api.telegram.invalid/bot{TOKEN}/getMe HTTP/1.1".encode()] * 2
    assert [c.text for c in fake.of("sendMessage", CHAT)] == ["direct"]


def test_only_http_proxies_are_taken() -> None:
    with pytest.raises(ValueError, match="SOCKS"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")


async def test_shutdown_closes_the_session_and_initialize_reopens_it(fake: FakeBotAPI) -> None:
    request = AiohttpRequest()
    bot = bot_on(fake.url, request)
    await bot.initialize()
    await bot.shutdown()
    assert request.closed
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{fake.url}/bot{TOKEN}/getMe", "POST")
    await bot.initialize()
    assert not request.closed
    assert (await bot.get_me()).id == BOT_ID
    await bot.shutdown()
    assert request.closed


async def test_bakens_channel_uses_it_by_default_and_closes_it_on_stop(fake: FakeBotAPI, tmp_path: Path) -> None:
    """The channel's requests (messages and polling alike) run on aiohttp, on the configured API root, and
    stopping the bot leaves no open session behind (aiohttp warns of one when it is collected)."""
    from bot.app import build_services
    from tests.server_keys import TEST_KEY

    services = await build_services(Settings(data_dir=tmp_path, secret_key=TEST_KEY))
    try:
        channel = TelegramChannel(services.dispatcher, TOKEN, api_url=f"{fake.url}/", tuning=fast_tuning())
        requests = [channel.application.bot._request[0], channel.application.bot._request[1]]
        assert all(isinstance(r, AiohttpRequest) for r in requests)
        await channel.start()
        assert fake.of("getMe")
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            await channel.stop()
        assert all(r.closed for r in requests)
    finally:
        await services.close()


def test_httpx_stays_selectable() -> None:
    assert Settings(telegram_http="httpx").telegram_http == "httpx"
    assert Settings().telegram_http == "aiohttp"
    with pytest.raises(ValueError):
        Settings(telegram_http="requests")
    app = build_application(TOKEN, None, polling=False, tuning=TelegramTuning(rate_limiter=None, http="httpx"))
    assert isinstance(app.bot._request[1], HTTPXRequest)
    app = build_application(TOKEN, None, polling=False, tuning=TelegramTuning(rate_limiter=None))
    assert isinstance(app.bot._request[1], AiohttpRequest)
