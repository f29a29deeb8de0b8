"""Hypothesis throws malformed, oversized, truncated and out-of-order updates at the real webhook: no input gets
a server error (which would make Telegram re-deliver it forever), and people keep being served afterwards.

The suite runs a few hundred inputs; `BAKEN_FUZZ_EXAMPLES=10000 pytest tests/bot/test_fuzz_webhook.py` (or
`make fuzz`) runs the long version.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.fake_telegram import Person, on_webhook, press, raw_post, text
from tests.bot.test_telegram import fast_tuning

EXAMPLES = int(os.environ.get("BAKEN_FUZZ_EXAMPLES", "300"))
T = TypeVar("T")


class Served:
    """Baken on the webhook and the fake Bot API in a loop of their own, so that Hypothesis can drive it."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake, self.baken = self.run(on_webhook(tmp / "data", fast_tuning()))
        self.statuses: Counter[int] = Counter()


    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def post(self, body: bytes) -> int:
        status = self.run(raw_post(self.baken.client.port, self.baken.secret.encode(), body))
        self.statuses[status] += 1
        return status

    def close(self) -> None:
        self.run(self.baken.close())
        self.run(self.fake.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = Served(tmp_path_factory.mktemp("fuzz"))
    yield s
    s.close()


people = st.builds(
    Person,
    id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    first_name=st.text(max_size=300),
    language_code=st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["nl", "fr", "de", "en", "ar"])),
    username=st.one_of(st.none(), st.text(max_size=40)),
)
texts = st.one_of(
    st.text(max_size=200),
    st.text(max_size=5000),  # past Telegram's own 4,096
    st.sampled_from(["/start", "/forget", "/urgent", "/mydata", "/language", "/stop", "back", "1", "/start x y"]),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=5),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def updates(draw: st.DrawFn) -> bytes:
    """A Telegram-shaped update, then perhaps damaged: fields of the wrong type, cut short, or nonsense."""
    person = draw(people)
    update_id = draw(st.integers(min_value=-(2**31), max_value=2**53))  # repeats and out-of-order included
    kind = draw(st.sampled_from(["text", "press", "edited", "sticker", "weird", "junk", "truncated"]))
    if kind == "text":
        update = text(person, draw(texts), update_id=update_id)
    elif kind == "press":
        update = press(person, draw(st.text(max_size=80)), message_id=draw(st.integers(-5, 10**6)))
        update["update_id"] = update_id
    elif kind == "edited":
        update = text(person, draw(texts), update_id=update_id)
        update["edited_message"] = update.pop("message")
    elif kind == "sticker":
        update = text(person, "", update_id=update_id)
        update["message"].pop("text", None)
        update["message"]["sticker"] = draw(json_values)
    elif kind == "weird":
        update = text(person, draw(texts), update_id=update_id)
        target = draw(st.sampled_from(["message", "from", "chat", "date", "text", "update_id"]))
        holder = update["message"] if target in ("from", "chat", "date", "text") else update
        holder[target] = draw(json_values)
    else:
        update = draw(st.dictionaries(st.text(max_size=20), json_values, max_size=6))
    body = json.dumps(update, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    return body


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
@given(body=updates())
def test_no_update_gets_a_server_error(served: Served, body: bytes) -> None:
    status = served.post(body)
    assert status in (200, 400), f"{status} for {body[:200]!r}"


def test_people_are_still_served_after_the_fuzz(served: Served) -> None:
    """Runs after the fuzz (file order): a new person's /start is answered as usual."""
    person = Person(id=987654321, first_name="Canary", language_code="nl")
    before = len(served.fake.of("sendMessage", person.id))
    assert served.run(served.baken.post(text(person, "/start", update_id=2**60))) == 200
    assert len(served.fake.of("sendMessage", person.id)) > before
    assert served.statuses[500] == 0
