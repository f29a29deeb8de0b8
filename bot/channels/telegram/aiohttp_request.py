"""PTB's HTTP layer on aiohttp: Baken already runs aiohttp, and httpx's async client slows down badly under
concurrent requests (encode/httpx#3215); on the same load this backend costs a fraction of httpx's CPU.

PTB's `BaseRequest` turns the status and body returned here into its errors (429 → RetryAfter, 5xx →
NetworkError, 403 → Forbidden, ...); this class only moves bytes and maps the transport's failures as PTB's
own httpx backend does: every timeout → TimedOut (a full pool says so), any other transport failure →
NetworkError. It never retries by itself: a repeated sendMessage could show a person the same reply twice.
Retries are the caller's (Baken's rate limiter waits out a 429; a failed webhook update answers 500 and
Telegram delivers it again, which sends the still-pending replies from the outbox).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

log = logging.getLogger("baken.telegram.http")

POOL_FULL = ("Pool timeout: all connections in the pool are in use; the request was not sent to Telegram. "
             "Raise the pool size or the pool timeout.")


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool, opened by `initialize` and closed by `shutdown`.

    Timeouts follow PTB's four: `pool` bounds the wait for a free connection, `connect` the TCP (and TLS)
    connect, `read` each wait for the answer's bytes, and `write` bounds sending the request: aiohttp has no
    write timeout of its own, so the whole exchange gets connect + write + read as its ceiling.
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        if proxy is not None and not proxy.startswith(("http://", "https://")):
            raise ValueError("only HTTP(S) proxies are supported by the aiohttp backend (BAKEN_TELEGRAM_HTTP=httpx "
                             "with python-telegram-bot[socks] for SOCKS)")
        self.pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self.proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        # the pool is counted here, not only in the connector, so that a full pool fails fast as PTB's
        # "pool timeout" (the connector would fold the wait into its connect timeout)
        self._slots: asyncio.Semaphore | None = None
        #: HTTP(S)_PROXY / NO_PROXY from the environment, looked up once per origin (see `_env_proxy`)
        self._env_proxies: dict[str, tuple[str | None, aiohttp.BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    async def initialize(self) -> None:
        if not self.closed:
            return
        connector = aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size,
                                         ttl_dns_cache=300, enable_cleanup_closed=False)
        self._session = aiohttp.ClientSession(
            connector=connector, headers={"User-Agent": self.USER_AGENT},
            # PTB checks the status itself; raising here would lose Telegram's error description
            # no trust_env: with it aiohttp reads ~/.netrc and the proxy environment in a worker thread on
            # every request (two thread hops per sendMessage); the proxy environment is read once per origin
            # in `_env_proxy` instead, and netrc, like PTB's httpx backend since httpx 0.24, is not read
            raise_for_status=False, auto_decompress=True, trust_env=False,
        )
        self._slots = asyncio.Semaphore(self.pool_size)

    async def _env_proxy(self, url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
        """The environment's proxy for this URL's origin (HTTP(S)_PROXY, NO_PROXY), as aiohttp's trust_env
        would find it, but looked up once: the environment does not change while the server runs."""
        origin = "/".join(url.split("/", 3)[:3])
        found = self._env_proxies.get(origin)
        if found is None:
            try:  # in a thread, as aiohttp does: a proxy's credentials may come from ~/.netrc
                proxy, auth = await asyncio.to_thread(get_env_proxy_for_url, URL(url))
                found = (str(proxy), auth)
            except LookupError:
                found = (None, None)
            self._env_proxies[origin] = found
        return found

    async def shutdown(self) -> None:
        if self._session is None or self._session.closed:
            return
        await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("this AiohttpRequest is not initialized (or already shut down)")
        files = request_data.multipart_data if request_data is not None else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write: float | None = self._media_write if files else self._write
        else:
            write = write_timeout
        parts = (connect, write, read)
        total = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        body = _body(request_data, files)
        try:
            async with asyncio.timeout(pool):
                await slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(POOL_FULL) from exc
        proxy, proxy_auth = (self.proxy, None) if self.proxy is not None else await self._env_proxy(url)
        try:
            async with session.request(method, url, data=body, timeout=timeout, proxy=proxy, proxy_auth=proxy_auth,
                                       allow_redirects=False) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError and the total ceiling alike
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        finally:
            slots.release()


def _body(request_data: RequestData | None, files: UploadFileDict | None) -> Any:
    """A form, as Telegram takes it: url-encoded, or multipart when a file goes with it."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not files:
        return fields or None
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form
