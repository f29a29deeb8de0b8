"""A deadline for request headers: a client that sends them slowly (slowloris) is cut off, not waited on.

aiohttp waits for a request's headers as long as bytes keep coming, so a few hundred connections dribbling
one header line every few seconds would hold the server's connections and memory. Each connection here
gets `seconds` to deliver a whole request head; a middleware stops the clock when the head is in (the
handler starts) and starts it again after the answer (the next request on a kept-alive connection). A
connection over its time is closed. Nothing about the client is logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HeaderDeadline:
    """The clocks of the connections waiting for a request head."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._clocks: dict[asyncio.BaseTransport, asyncio.TimerHandle] = {}
        self.guarded: set[asyncio.BaseTransport] = set()  # connections opened through `protocols`
        self.closed = 0  # connections cut off, for tests and health figures

    def arm(self, transport: asyncio.BaseTransport) -> None:
        self.disarm(transport)
        loop = asyncio.get_running_loop()
        self._clocks[transport] = loop.call_later(self.seconds, self._expire, transport)

    def disarm(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is None:
            return
        clock = self._clocks.pop(transport, None)
        if clock is not None:
            clock.cancel()

    def _expire(self, transport: asyncio.BaseTransport) -> None:
        self._clocks.pop(transport, None)
        if not transport.is_closing():
            self.closed += 1
            transport.close()

    def protocols(self, make: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's protocol factory: each connection's clock starts when it opens."""
        return lambda: _Guarded(make(), self)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        self.disarm(transport)  # the head is in: from here the handler's own limits apply
        try:
            return await handler(request)
        finally:
            # only connections opened through `protocols` are timed (a test server's own are not)
            if transport is not None and transport in self.guarded and not transport.is_closing():
                self.arm(transport)


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the header clock around it."""

    def __init__(self, inner: Any, deadline: HeaderDeadline) -> None:
        self.inner = inner
        self.deadline = deadline
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.deadline.guarded.add(transport)
        self.inner.connection_made(transport)
        self.deadline.arm(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self.inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self.deadline.disarm(self.transport)
        self.deadline.guarded.discard(self.transport)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()
