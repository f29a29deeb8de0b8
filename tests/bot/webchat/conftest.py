"""A real Baken server on a loopback port with the web chat, and a page-like client over its WebSocket."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.webchat import WEBCHAT, WebChat, WebchatLimits
from bot.server import SERVICES, make_app
from bot.settings import Settings

Frame = dict[str, Any]


@dataclass
class Tab:
    """One browser tab as the page script behaves: hello, frames, acknowledgements."""

    ws: aiohttp.ClientWebSocketResponse
    token: str | None = None
    counter: int = 0

    async def send(self, frame: Frame) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def frame(self, within: float = 10.0) -> Frame:
        msg = await self.ws.receive(timeout=within)
        assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a frame, got {msg.type}"
        frame: Frame = json.loads(msg.data)
        if frame.get("type") == "session":
            self.token = frame["token"]
        return frame

    async def until(self, kind: str, within: float = 10.0) -> Frame:
        """The next frame of `kind`; frames of other kinds before it are dropped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            frame = await self.frame(max(0.05, deadline - loop.time()))
            if frame.get("type") == kind:
                return frame

    async def hello(self, lang: str = "en", token: str | None = None, fresh: bool = True) -> list[Frame]:
        await self.send({"type": "hello", "token": token, "lang": lang, "fresh": fresh})
        first = await self.frame()
        frames = [first]
        if first.get("type") == "session":
            frames.append(await self.until("messages"))
        for frame in frames:
            if frame.get("ack"):
                await self.send({"type": "ack", "ids": frame["ack"]})
        return frames

    async def act(self, frame: Frame, ack: bool = True) -> Frame:
        """Send one action and return its answer (acknowledged, as the page does)."""
        self.counter += 1
        frame = {**frame, "id": f"{secrets.token_hex(6)}{self.counter:04d}"}
        await self.send(frame)
        answer = await self.frame()
        if ack and answer.get("ack"):
            await self.send({"type": "ack", "ids": answer["ack"]})
        return answer

    async def choose(self, data: str) -> Frame:
        return await self.act({"type": "choice", "data": data})


def texts(frame: Frame) -> str:
    return "\n".join(str(item["html"]) for item in frame.get("items", []))


def buttons(frame: Frame) -> list[str]:
    return [b["data"] for item in frame.get("items", []) for b in item.get("buttons", [])]


@dataclass
class ChatServer:
    client: TestClient[Any, Any]

    @property
    def chat(self) -> WebChat:
        return self.client.server.app[WEBCHAT]

    @property
    def services(self) -> Any:
        return self.client.server.app[SERVICES]

    async def tab(self, **headers: str) -> Tab:
        ws = await self.client.ws_connect("/chat/ws", headers=headers or None)
        return Tab(ws)


MakeServer = Callable[..., Awaitable[ChatServer]]


@pytest.fixture
async def webchat_server_factory(settings: Settings) -> AsyncIterator[MakeServer]:
    """Build servers with turned limits or settings; all are closed at the end."""
    clients: list[TestClient[Any, Any]] = []

    async def make(limits: WebchatLimits | None = None, **overrides: Any) -> ChatServer:
        config = settings.model_copy(update=overrides)
        app = make_app(config, webchat=limits or WebchatLimits(relay_check_seconds=0.1))
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return ChatServer(client)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def webchat_api(webchat_server_factory: MakeServer) -> ChatServer:
    return await webchat_server_factory()
