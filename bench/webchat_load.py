"""Web chat under load, on loopback: many concurrent WebSocket sessions, reply times printed (never asserted).

Starts `baken serve` as its own process (SQLite in a temporary folder, or BAKEN_DATABASE_URL when given),
opens `--sessions` sockets, lets each say hello, then has every session press a button every
`--interval` seconds (spread evenly, as people do) for `--seconds`, acknowledging each answer as the page
does. It prints how many sessions were held, and the p50/p99 of the time from a frame sent to its answer.

Run: `.venv/bin/python -m bench.webchat_load --sessions 1000 --seconds 30`
Bounded on purpose: at most 5,000 sessions, 300 seconds, and 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

from bench.steps import BENCH_KEY

# a loop through the start of the conversation that is valid from every state it reaches
CYCLE = ["go", "role:parent", "reason:general", "go", "/restart"]
MAX_SESSIONS = 5000
MAX_SECONDS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_") or k == "BAKEN_DATABASE_URL"}
    env |= {"BAKEN_DATA_DIR": str(data), "BAKEN_PORT": str(port), "BAKEN_HOST": "127.0.0.1",
            "BAKEN_WEBCHAT_ADDRESS_SCALE": "1000", "BAKEN_LOG_LEVEL": "WARNING", "BAKEN_SECRET_KEY": BENCH_KEY}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the server did not start")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Session:
    """One tab: a reader that always listens (so the server's pings are answered, as a browser does)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.step = 0
        self.n = 0
        self.frames: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.frames.put_nowait(json.loads(msg.data))
        self.frames.put_nowait({"type": "closed"})

    async def ask(self, frame: dict[str, object]) -> tuple[float, dict[str, object]]:
        self.n += 1
        frame = {**frame, "id": f"load{id(self):x}{self.n:06d}"}
        started = time.perf_counter()
        await self.ws.send_str(json.dumps(frame))
        while True:
            answer = await self.frames.get()
            if answer.get("type") == "closed":
                raise ConnectionError("socket ended")
            if answer.get("type") in ("messages", "error", "erased") and answer.get("re") in (frame["id"], None):
                elapsed = time.perf_counter() - started
                if answer.get("ack"):
                    await self.ws.send_str(json.dumps({"type": "ack", "ids": answer["ack"]}))
                return elapsed, answer

    async def next_step(self) -> tuple[float, dict[str, object]]:
        data = CYCLE[self.step % len(CYCLE)]
        self.step += 1
        if data.startswith("/"):
            return await self.ask({"type": "command", "name": data[1:]})
        return await self.ask({"type": "choice", "data": data})


async def hello(http: aiohttp.ClientSession, url: str) -> Session:
    ws = await http.ws_connect(url, max_msg_size=1 << 20, heartbeat=None)
    session = Session(ws)
    await ws.send_str(json.dumps({"type": "hello", "token": None, "lang": random.choice("nl fr de en".split())}))
    while True:
        answer = await session.frames.get()
        if answer.get("type") == "closed":
            raise ConnectionError("socket ended during hello")
        if answer.get("type") == "messages":
            await ws.send_str(json.dumps({"type": "ack", "ids": answer["ack"]}))
            return session


async def run(port: int, sessions: int, seconds: float, interval: float, pid: int) -> None:
    url = f"http://127.0.0.1:{port}/chat/ws"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        opened = time.perf_counter()
        held: list[Session] = []
        for start in range(0, sessions, 50):  # open in waves, as a crowd arrives
            held += await asyncio.gather(*(hello(http, url) for _ in range(min(50, sessions - start))))
        open_s = time.perf_counter() - opened
        print(f"sessions held: {len(held)} (opened in {open_s:.1f} s; server RSS {rss_mb(pid):.0f} MB)")

        times: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        async def talk(session: Session) -> None:
            nonlocal errors
            await asyncio.sleep(random.uniform(0, interval))
            while time.perf_counter() < deadline:
                due = time.perf_counter() + interval
                elapsed, answer = await session.next_step()
                times.append(elapsed)
                errors += answer.get("type") == "error"
                await asyncio.sleep(max(0.0, due - time.perf_counter()))

        await asyncio.gather(*(talk(s) for s in held))
        still_open = sum(not s.ws.closed for s in held)
        ms = sorted(t * 1000 for t in times)
        if not ms:
            raise SystemExit("no replies measured")
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        rate = len(ms) / seconds
        print(f"replies: {len(ms)} in {seconds:.0f} s ({rate:.0f}/s), errors {errors}; sockets still open {still_open}")
        print(f"reply time: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms; server RSS {rss_mb(pid):.0f} MB")
        await asyncio.gather(*(s.ws.close() for s in held))
        await asyncio.gather(*(s.reader for s in held))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a session's messages")
    parser.add_argument("--port", type=int, default=0, help="use a server already listening on 127.0.0.1:PORT")
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, MAX_SESSIONS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, sessions * 2 + 100)), hard))
    if args.port:
        print(f"web chat load: {sessions} sessions against the server on 127.0.0.1:{args.port}")
        asyncio.run(run(args.port, sessions, seconds, args.interval, 0))
        return
    with tempfile.TemporaryDirectory(prefix="baken-load-") as tmp:
        port = free_port()
        proc = start_server(Path(tmp) / "data", port)
        try:
            print(f"web chat load: {sessions} sessions, one message each per {args.interval:.0f} s, "
                  f"for {seconds:.0f} s, on 127.0.0.1:{port}")
            asyncio.run(run(port, sessions, seconds, args.interval, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
