"""1 → 2 `baken serve` processes on one PostgreSQL that is a few milliseconds away: does a second process
add what a second process should?

    .venv/bin/python -m bench.latency_scaling --database postgresql+asyncpg://root@127.0.0.1:5432/test \
        [--delay-ms 1] [--chats 200] [--updates 4000] [--rounds 2]

The issue asks for `tc netem` on loopback in a network namespace. This kernel has no `sch_netem` (nor `fq`,
which a BPF program could have used to delay packets), so the latency is added in user space instead: a
delay proxy in its own process sits between the Baken processes and PostgreSQL and holds every chunk of
bytes `--delay-ms` in each direction, in order (a round trip to the database costs 2 × delay more). Its CPU
is printed too, because it shares the two cores with everything else.

Load: `--chats` chats, each sending its next update only when the previous one was answered (as Telegram
does for one chat), alternating between the processes (as a round-robin proxy would); a closed loop, so
the figure is the throughput the processes reach, not an arrival rate. Each process count runs on a fresh
database, `--rounds` times alternating, after a warm-up. Printed: updates/s, the Baken processes' CPU per
update (from /proc), answer p50/p99, and the ratios 2 / 1 (issue 16's target: ≥ 1.8× throughput, CPU per
update within 1.15×). Printed, never asserted; the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bench.ordering import (
    LOCALES,
    SCRIPTS,
    SECRET,
    TOKEN,
    _cpu_seconds,
    _free_port,
    _serve_api,
    _serve_baken,
    _start,
    update_of,
)
from bench.scratch import create_database, drop_database


# ---------------------------------------------------------------------- the delay proxy (own process)
class _Direction(asyncio.Protocol):
    """One side of a proxied connection: what it receives reaches the other side `delay` seconds later,
    in the order received (one queue and one timer per direction, so equal deadlines cannot reorder)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer: _Direction | None = None
        self.queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None
        self.early: list[bytes] = []  # what arrives before the other side is connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._later(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._later(None)  # the close travels as late as the data before it

    def _later(self, data: bytes | None) -> None:
        self.queue.append((self.loop.time() + self.delay, data))
        if self.timer is None:
            self.timer = self.loop.call_at(self.queue[0][0], self._deliver)

    def _deliver(self) -> None:
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            _, data = self.queue.popleft()
            peer = self.peer
            if peer is None or peer.transport is None:
                if data is not None:
                    self.early.append(data)
                continue
            if data is None:
                peer.transport.close()
            elif not peer.transport.is_closing():
                peer.transport.write(data)
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self._deliver)


def _serve_proxy(listen: int, target: tuple[str, int], delay: float, ready: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        connecting: set[asyncio.Task[None]] = set()

        def accepted() -> _Direction:
            client = _Direction(delay)

            async def connect() -> None:
                _, server = await loop.create_connection(lambda: _Direction(delay), *target)
                server.peer, client.peer = client, server
                assert server.transport is not None
                for chunk in client.early:
                    server.transport.write(chunk)
                client.early.clear()

            task = loop.create_task(connect())
            connecting.add(task)
            task.add_done_callback(connecting.discard)
            return client

        await loop.create_server(accepted, "127.0.0.1", listen, backlog=512)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def start_proxy(target: tuple[str, int], delay: float) -> tuple[multiprocessing.process.BaseProcess, int]:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    port = _free_port()
    proc = ctx.Process(target=_serve_proxy, args=(port, target, delay, ready), daemon=True)
    proc.start()
    if not ready.wait(30):
        raise RuntimeError("the delay proxy did not start")
    return proc, port


def through(url: str, port: int) -> str:
    """The same database URL, reached through the proxy's port."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)
    user = host[0] + "@" if len(host) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


# ---------------------------------------------------------------------- one run
@dataclass
class Run:
    processes: int
    updates: int
    seconds: float
    cpu: float  # the Baken processes' CPU seconds during the measured part
    proxy_cpu: float
    latencies: list[float]  # ms, from request to answer
    failed: int

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.updates * 1000

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return (f"{self.processes} process{'es' if self.processes > 1 else ''}: {self.rate:6.0f} updates/s, "
                f"CPU {self.cpu_ms:.2f} ms/update (proxy {self.proxy_cpu / self.updates * 1000:.2f}), answer "
                f"p50 {statistics.median(self.latencies):.1f} ms, p99 {p99:.1f} ms, failed {self.failed}")


async def run_once(database: str, processes: int, proxy: tuple[int, int], root: Path, api_url: str, *,
                   chats: int, updates: int, warmup: int) -> Run:
    from bot.channels.telegram.webhook import webhook_secret
    from bot.settings import Settings
    from bot.storage.migrate import upgrade

    url = await create_database(database, "latency")
    servers = []
    try:
        await asyncio.to_thread(upgrade, url)  # directly: migrations through the delay are only slower
        settings: dict[str, Any] = {
            "data_dir": str(root), "database_url": through(url, proxy[1]), "secret_key": SECRET,
            "telegram_token": TOKEN, "telegram_api_url": api_url,
            "telegram_webhook_url": "https://bench.invalid/telegram/webhook"}
        ports = [_free_port() for _ in range(processes)]
        # as bench.ordering and bench.openloop serve: no bot-wide 30/s limiter (it would be the only limit)
        servers = [_start(_serve_baken, settings, True, port) for port in ports]
        header = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(Settings(**settings))}
        return await _load(ports, [s.pid or 0 for s in servers], header, proxy[0], chats=chats, updates=updates,
                           warmup=warmup)
    finally:
        for server in servers:
            server.terminate()
            server.join()
        await drop_database(url)


async def _load(ports: list[int], pids: list[int], header: dict[str, str], proxy_pid: int, *, chats: int,
                updates: int, warmup: int) -> Run:
    per_chat = max(1, (updates + warmup) // chats)
    scripts = [[update_of(8_100_000_000 + n + time.monotonic_ns() % 1_000_000 * 1000, LOCALES[n % 4],
                          SCRIPTS[n % len(SCRIPTS)][i % len(SCRIPTS[n % len(SCRIPTS)])]) for i in range(per_chat)]
               for n in range(chats)]
    latencies: list[float] = []
    done = failed = 0
    measuring = asyncio.Event()
    marks: dict[str, float] = {}

    async def one_chat(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal done, failed
        for i, update in enumerate(scripts[n]):
            port = ports[(n + i) % len(ports)]
            began = time.perf_counter()
            try:
                async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update, headers=header,
                                     timeout=aiohttp.ClientTimeout(total=60)) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            done += 1
            if done == warmup:
                marks["began"] = time.perf_counter()
                marks["cpu"] = sum(_cpu_seconds(pid) for pid in pids)
                marks["proxy"] = _cpu_seconds(proxy_pid)
                measuring.set()
            elif measuring.is_set():
                latencies.append((time.perf_counter() - began) * 1000)
                failed += not ok

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        await asyncio.gather(*(one_chat(http, n) for n in range(chats)))
    seconds = time.perf_counter() - marks["began"]
    cpu = sum(_cpu_seconds(pid) for pid in pids) - marks["cpu"]
    return Run(len(ports), len(latencies), seconds, cpu, _cpu_seconds(proxy_pid) - marks["proxy"], latencies,
               failed)


async def main(args: argparse.Namespace) -> None:
    target = urlsplit(args.database.replace("+asyncpg", ""))
    proc, port = start_proxy((target.hostname or "127.0.0.1", target.port or 5432), args.delay_ms / 1000)
    api_port = _free_port()
    api = _start(_serve_api, api_port)
    runs: dict[int, list[Run]] = {1: [], 2: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                for processes in (1, 2):
                    run = await run_once(args.database, processes, (proc.pid or 0, port), Path(tmp),
                                         f"http://127.0.0.1:{api_port}",
                                         chats=args.chats, updates=args.updates,
                                         warmup=args.warmup)
                    runs[processes].append(run)
                    print(run.line(), flush=True)
    finally:
        api.kill()
        proc.kill()
    rate = {p: statistics.median(r.rate for r in rs) for p, rs in runs.items()}
    cpu = {p: statistics.median(r.cpu_ms for r in rs) for p, rs in runs.items()}
    print(f"database {args.delay_ms:g} ms away each way, {args.chats} chats, "
          f"medians of {args.rounds} rounds: 2 processes / 1 = {rate[2] / rate[1]:.2f}× throughput "
          f"(target ≥ 1.8×), CPU per update {cpu[2] / cpu[1]:.2f}× (target ≤ 1.15×)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="postgresql+asyncpg://… (new databases are made beside)")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added each way between Baken and PostgreSQL")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--updates", type=int, default=4000, help="measured updates per run, after the warm-up")
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
