"""Several real `baken serve` processes on one PostgreSQL, a recording fake Bot API, web chat tabs and a
counsellor signed in over HTTP: the parts the multi-process tests (tests/bot/test_scale_out.py) and the
benchmark (bench/scale_out.py) share.

Each process is a plain `python -m bot.cli serve` with its own port and data folder, configured through
BAKEN_* variables only, as an operator would run it behind a reverse proxy.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
from aiohttp import web

from bench.ordering import _free_port

TOKEN = "42:cluster-token"
WEBHOOK_URL = "https://cluster.invalid/telegram/webhook"


# ---------------------------------------------------------------------- the fake Bot API (in this process)
@dataclass
class Sent:
    at: float  # time.monotonic() when the request arrived
    method: str
    chat_id: int | None
    text: str


@dataclass
class BotAPI:
    """Answers every Bot API method at once and keeps what was sent, with arrival times."""

    sent: list[Sent] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        ids = itertools.count(1)

        async def method(request: web.Request) -> web.Response:
            name = request.match_info["method"]
            if name == "getMe":
                return web.json_response({"ok": True, "result": {"id": 42, "is_bot": True, "first_name": "Baken",
                                                                 "username": "BakenClusterBot"}})
            try:
                form: Any = await request.post() if request.content_type != "application/json" else await request.json()
            except ConnectionResetError:  # the sending process was killed mid-request
                return web.json_response({"ok": False}, status=400)
            chat = form.get("chat_id")
            chat_id = int(str(chat)) if chat is not None else None
            self.sent.append(Sent(time.monotonic(), name, chat_id, str(form.get("text", ""))))
            if name == "sendMessage":
                return web.json_response({"ok": True, "result": {
                    "message_id": next(ids), "date": int(time.time()), "text": str(form.get("text", "")),
                    "chat": {"id": chat_id, "type": "private"}}})
            return web.json_response({"ok": True, "result": True})

        app = web.Application(client_max_size=2**24)
        app.router.add_post("/bot{token}/{method}", method)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = _free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def messages(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "sendMessage"]


def busiest_second(times: list[float]) -> int:
    """The most sends within any one second (a sliding window over the arrival times)."""
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


# ---------------------------------------------------------------------- the processes
@dataclass
class Node:
    """One `baken serve` process; it can be SIGKILLed and started again on the same port."""

    env: dict[str, str]
    port: int
    proc: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 90.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "serve", env=self.env,
                                                         stdout=asyncio.subprocess.DEVNULL)
        async with aiohttp.ClientSession() as http, asyncio.timeout(within):
            while True:  # a separate process: its port answering is the only signal it gives
                assert self.proc.returncode is None, "the server stopped while starting"
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def node_env(database_url: str, secret_key: str, data: Path, port: int, *, api_url: str | None,
             **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(data), "BAKEN_PORT": str(port), "BAKEN_HOST": "127.0.0.1",
            "BAKEN_DATABASE_URL": database_url, "BAKEN_SECRET_KEY": secret_key, "BAKEN_LOG_LEVEL": "WARNING",
            "BAKEN_DASHBOARD_DEV": "true", "BAKEN_WEBCHAT_ADDRESS_SCALE": "100000",
            # these runs count updates, not Telegram's limit (a test that checks the limit passes 30)
            "BAKEN_TELEGRAM_SEND_LIMIT": "0"}
    if api_url is not None:
        env |= {"BAKEN_TELEGRAM_TOKEN": TOKEN, "BAKEN_TELEGRAM_API_URL": api_url,
                "BAKEN_TELEGRAM_WEBHOOK_URL": WEBHOOK_URL}
    return env | extra


async def start_nodes(count: int, database_url: str, secret_key: str, root: Path, *, api_url: str | None,
                      **extra: str) -> list[Node]:
    nodes = []
    for n in range(count):
        port = _free_port()
        nodes.append(Node(node_env(database_url, secret_key, root / f"node{n}", port, api_url=api_url, **extra),
                          port))
    await asyncio.gather(*(node.start() for node in nodes))
    return nodes


async def sender_pid(database_url: str) -> int | None:
    """The OS process id of the process holding the sender lock (from its connection's application name)."""
    import asyncpg

    from bot.events import asyncpg_dsn
    from bot.leader import APPLICATION_NAME, SENDER_LOCK

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        name = await conn.fetchval(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1", SENDER_LOCK)
    finally:
        await conn.close()
    match = re.fullmatch(rf"{APPLICATION_NAME}-(\d+)", name or "")
    return int(match[1]) if match else None


# ---------------------------------------------------------------------- a web chat tab and a counsellor
class Tab:
    """A web chat tab on one process: it always reads (as a browser does) and acknowledges what it shows."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.token: str | None = None
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.n = 0
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, node: Node, lang: str = "en") -> Tab:
        ws = await http.ws_connect(f"{node.base}/chat/ws", heartbeat=None, max_msg_size=1 << 20)
        tab = cls(ws)
        await ws.send_str(json.dumps({"type": "hello", "token": None, "lang": lang, "fresh": True}))
        await tab.until("messages")
        return tab

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                frame = json.loads(msg.data)
                if frame.get("type") == "session":
                    self.token = frame["token"]
                if frame.get("ack"):
                    await self.ws.send_str(json.dumps({"type": "ack", "ids": frame["ack"]}))
                self.frames.put_nowait(frame)
        self.frames.put_nowait({"type": "closed"})

    async def until(self, kind: str, within: float = 30.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                frame = await self.frames.get()
                if frame.get("type") == "closed":
                    raise ConnectionError("the socket closed")
                if frame.get("type") == kind:
                    return frame

    async def choose(self, data: str) -> dict[str, Any]:
        self.n += 1
        await self.ws.send_str(json.dumps({"type": "choice", "data": data, "id": f"c{id(self):x}{self.n:05d}"}))
        return await self.until("messages")

    async def ask_for_a_counsellor(self) -> None:
        for step in ("go", "role:parent", "reason:general", "go", "danger:none", "counsellor", "goal:advice",
                     "consent"):
            await self.choose(step)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


def texts(frame: dict[str, Any]) -> str:
    return "\n".join(str(item.get("html", "")) for item in frame.get("items", []))


class Counsellor:
    """A counsellor signed in to one process's dashboard over HTTP (plain HTTP: BAKEN_DASHBOARD_DEV)."""

    def __init__(self, http: aiohttp.ClientSession, node: Node) -> None:
        self.http, self.node = http, node
        self.csrf = ""

    async def sign_in(self, name: str, password: str, totp_secret: str) -> None:
        async with self.http.get(f"{self.node.base}/dashboard/login") as page:
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None
        left = 30 - time.time() % 30  # a code lives only in its own 30-second step: not one about to end
        if left < 3:
            await asyncio.sleep(left + 0.05)
        async with self.http.post(f"{self.node.base}/dashboard/login", allow_redirects=False, data={
                "csrf": token[1], "name": name, "password": password,
                "code": pyotp.TOTP(totp_secret).now()}) as answer:
            assert answer.headers.get("Location") == "/dashboard/?notice=signed_in", "signed in"
        async with self.http.get(f"{self.node.base}/dashboard/") as page:
            found = re.search(r'data-csrf="([^"]+)"', await page.text())
        assert found is not None
        self.csrf = found[1]

    async def post(self, path: str, **form: str) -> int:
        async with self.http.post(f"{self.node.base}/dashboard{path}", data={"csrf": self.csrf, **form},
                                  headers={"X-Requested-With": "fetch"}, allow_redirects=False) as response:
            return response.status

    async def take_next(self) -> int | None:
        async with self.http.post(f"{self.node.base}/dashboard/queue/next", data={"csrf": self.csrf},
                                  allow_redirects=False) as response:
            found = re.search(r"/tickets/(\d+)", response.headers.get("Location", ""))
        return int(found[1]) if found else None

    async def reply(self, ticket_id: int, text: str) -> None:
        status = await self.post(f"/tickets/{ticket_id}/reply", text=text)
        assert status == 200, status


async def wait_for_sender(database_url: str, *, other_than: int | None = None, within: float = 20.0) -> int:
    """The sender's process id, once there is one (and it is not `other_than`)."""
    async with asyncio.timeout(within):
        for _ in itertools.count():
            pid = await sender_pid(database_url)
            if pid is not None and pid != other_than:
                return pid
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")
