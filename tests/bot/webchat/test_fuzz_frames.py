"""Hypothesis throws malformed, oversized, truncated and out-of-order web chat frames at a real server, over its
WebSocket and its plain-HTTP fallback: no frame makes the program fail (a 500, a `failed` answer or a logged
exception), and a person who opens the chat afterwards is served as before.

The suite runs 40 inputs on each path, plus the cases it once found; `BAKEN_FUZZ_EXAMPLES=10000` (or
`make fuzz`) runs the long version.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.channels.webchat import WebchatLimits
from bot.server import make_app
from bot.settings import Settings
from tests.server_keys import TEST_KEY

EXAMPLES = int(os.environ.get("BAKEN_FUZZ_EXAMPLES", "40"))
#: found by the fuzzer: nesting past Python's recursion limit made json.loads raise RecursionError ("failed")
DEEP = "[" * 2047 + "]" * 2047
T = TypeVar("T")
#: generous limits: the fuzzer is one address sending thousands of frames, and limits are not under test here
LIMITS = WebchatLimits(per_connection=(1e9, 1e9), per_address=(1e9, 1e9), new_sessions_per_address=(1e9, 1e9),
                       relay_check_seconds=0.1)


class Failures(logging.Handler):
    """Collects records logged with an exception: each is a frame the program did not expect."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Served:
    """Baken's web chat on a loopback port, in a loop of its own so that Hypothesis can drive it."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        config = Settings(data_dir=tmp / "data", database_url=f"sqlite+aiosqlite:///{tmp / 'baken.sqlite3'}",
                          secret_key=TEST_KEY)
        self.server = TestServer(make_app(config, webchat=LIMITS), host="127.0.0.1", port=0)
        self.run(self.server.start_server())
        self.session = self.run(self._session())
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.statuses: Counter[int] = Counter()
        self.answers: Counter[str] = Counter()
        self.failures = Failures()
        logging.getLogger().addHandler(self.failures)

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _socket_send(self, raw: str | bytes) -> list[dict[str, Any]]:
        """One frame over the tab's socket (a new socket when the server closed the last one)."""
        if self.ws is None or self.ws.closed:
            self.ws = await self.session.ws_connect(self.url("/chat/ws"))
        if isinstance(raw, bytes):
            await self.ws.send_bytes(raw)
        else:
            await self.ws.send_str(raw)
        answers: list[dict[str, Any]] = []
        while True:
            try:
                msg = await self.ws.receive(timeout=0.5 if answers else 10)
            except TimeoutError:
                return answers
            if msg.type is not aiohttp.WSMsgType.TEXT:
                # a binary frame or one past the size limit ends the socket: a clean close, never 1011
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                                    aiohttp.WSMsgType.ERROR), msg.type
                assert self.ws.close_code != aiohttp.WSCloseCode.INTERNAL_ERROR
                return answers
            answers.append(json.loads(msg.data))

    def socket_send(self, raw: str | bytes) -> list[dict[str, Any]]:
        answers = self.run(self._socket_send(raw))
        self.answers.update(str(a.get("reason") or a.get("type")) for a in answers)
        return answers

    async def _http_send(self, body: bytes) -> tuple[int, Any]:
        async with self.session.post(self.url("/chat/send"), data=body,
                                     headers={"Content-Type": "application/json"}) as response:
            text = await response.text()
            return response.status, json.loads(text) if response.content_type == "application/json" else text

    def http_send(self, body: bytes) -> tuple[int, Any]:
        status, answer = self.run(self._http_send(body))
        self.statuses[status] += 1
        return status, answer

    async def _newcomer(self) -> dict[str, Any]:
        async with self.session.ws_connect(self.url("/chat/ws")) as ws:
            await ws.send_str(json.dumps({"type": "hello", "token": None, "lang": "nl", "fresh": True}))
            while True:
                frame: dict[str, Any] = json.loads((await ws.receive(timeout=10)).data)
                if frame.get("type") == "messages":
                    return frame

    def newcomer(self) -> dict[str, Any]:
        return self.run(self._newcomer())

    def close(self) -> None:
        logging.getLogger().removeHandler(self.failures)
        if self.ws is not None:
            self.run(self.ws.close())
        self.run(self.session.close())
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = Served(tmp_path_factory.mktemp("webchat-fuzz"))
    yield s
    s.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
kinds = st.sampled_from(["hello", "text", "choice", "ack", "code", "end", "erase", "forget", "resume", "poll",
                         "urgent", "", "HELLO", "messages", "session"])
person_texts = st.one_of(
    st.text(max_size=200),
    st.text(min_size=3990, max_size=4100),  # around the 4,000-character limit
    st.sampled_from(["/start", "/forget", "/urgent", "/mydata", "back", "1", "ik wil niet meer leven",
                     "مرحبا", "🙂" * 50]),
)
frames = st.fixed_dictionaries(
    {"type": kinds},
    optional={
        "id": st.one_of(st.text(max_size=30), st.integers(), st.none(), json_values),
        "text": st.one_of(person_texts, json_values),
        "data": st.one_of(st.text(max_size=80), st.sampled_from(["danger:none", "role:parent", "x" * 300]),
                          json_values),
        "token": st.one_of(st.none(), st.text(max_size=80), st.integers(), json_values),
        "lang": st.one_of(st.sampled_from(["nl", "fr", "de", "en", "ar", ""]), st.text(max_size=20), json_values),
        "fresh": json_values,
        "ids": st.one_of(st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=5), json_values),
        "code": st.one_of(st.text(max_size=50), json_values),
    },
)


def encoded(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)


raw_frames = st.one_of(
    frames.map(encoded),
    frames.map(encoded).flatmap(lambda s: st.integers(0, max(0, len(s) - 1)).map(lambda n: s[:n])),  # truncated
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.integers(1, 4000).map(lambda depth: "[" * depth + "]" * depth),  # deeply nested
    st.binary(max_size=300),
    st.just("x" * (64 * 1024 + 10)),  # past the frame limit: the socket closes
)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(raw=raw_frames)
@example(raw=DEEP)
def test_no_frame_over_the_socket_makes_baken_fail(served: Served, raw: str | bytes) -> None:
    for answer in served.socket_send(raw):
        assert answer.get("reason") != "failed", answer


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(body=st.one_of(
    st.fixed_dictionaries({"frame": frames, "token": st.one_of(st.none(), st.text(max_size=40)),
                           "lang": st.sampled_from(["nl", "fr", "xx"])}).map(lambda b: encoded(b).encode()),
    raw_frames.map(lambda r: r if isinstance(r, bytes) else r.encode("utf-8", "surrogatepass")),
))
@example(body=DEEP.encode())
@example(body=encoded({"frame": {"type": "text", "text": DEEP}}).encode())
def test_no_frame_over_http_gets_a_server_error(served: Served, body: bytes) -> None:
    status, answer = served.http_send(body)
    assert status < 500, (status, answer)
    if status == 200:
        assert all(frame.get("reason") != "failed" for frame in answer["frames"]), answer


def test_after_the_fuzzing_nothing_failed_and_a_newcomer_is_welcomed(served: Served) -> None:
    """Runs after the two above (file order): every input was answered, none logged as a failure. Under pytest-xdist
    it may run on a worker where neither ran (a fresh clone once failed so), so it first sends a few hard frames of
    its own over both paths: a hello, the nesting the fuzzer found, a truncated frame."""
    for raw in (encoded({"type": "hello", "token": None, "lang": "fr", "fresh": True}), DEEP, '{"type": "te'):
        served.socket_send(raw)
    served.http_send(DEEP.encode())
    assert not served.failures.records, [r.getMessage() for r in served.failures.records[:5]]
    assert sum(served.statuses.values()) >= 1 and served.statuses[500] == 0, served.statuses
    assert served.answers, "the socket answered nothing at all"
    welcome = served.newcomer()
    assert welcome["items"], "a new person after the fuzzing got no welcome"
