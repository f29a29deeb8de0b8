"""Input no person should be able to break Baken with: each gets an answer, none a crash or a retry loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.app import Services
from bot.dispatch import Envelope
from content.i18n import translator
from flows.messages import Inbound
from tests.bot.fake_telegram import BakenOnTelegram, FakeBotAPI, raw_post
from tests.bot.test_dispatch import PATH, converse
from tests.bot.test_telegram import PEOPLE, text
from tests.server_keys import first_run


async def test_a_lone_surrogate_is_stored_and_answered(services: Services) -> None:
    await converse(services, "lone", PATH[:4])
    delivery = await services.dispatcher.handle(
        Envelope("test", "lone", Inbound.from_text("mijn zoon \ud83d zegt niets meer"), update_key="x1")
    )
    assert delivery.replies, "the story step answered"
    state, data = await services.dispatcher.load_state("test", "lone")
    assert state is not None and data is not None
    assert "mijn zoon \ufffd zegt niets meer" in str(data), "kept, with the broken character replaced"


def _console(data: Path, payload: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")} | {"BAKEN_DATA_DIR": str(data)}
    first_run(data)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--lang", "en", *args], input=payload, capture_output=True,
        env=env, timeout=60, check=False,
    )


def test_the_console_reads_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    result = _console(tmp_path / "data", b"1\n\xff\xfe broken \xc3\n/urgent\n")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "112" in out.split("/urgent")[-1], "the conversation went on past the broken line"


def test_chat_session_resumes_where_it_was(tmp_path: Path) -> None:
    data = tmp_path / "data"
    t = translator("en")
    first = _console(data, b"1\n1\n", "--session", "kitchen-laptop")
    assert t("What brings you here?") in first.stdout.decode()
    again = _console(data, b"", "--session", "kitchen-laptop")
    out = again.stdout.decode()
    assert t("Welcome back. This is where we were:") in out
    assert t("What brings you here?") in out, "the same question as when the person left"
    assert t("Continue") not in out.split(t("Welcome back. This is where we were:"))[-1], "not the welcome again"



async def test_the_webhook_answers_hostile_bytes_without_a_server_error(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, _fake = webhook_baken
    right = baken.secret.encode()
    assert await raw_post(baken.client.port, b"\xff\xfe\xc3", b'{"update_id": 1}') == 401, "not UTF-8: a wrong secret"
    assert await raw_post(baken.client.port, right, b"[" * 100_000 + b"]" * 100_000) == 400, "absurd nesting"
    assert await raw_post(baken.client.port, right, b"\xff\xfe not json") == 400
    person = PEOPLE["nl"]
    update = text(person, "ik maak me zorgen \ud83d om mijn zoon")
    body = json.dumps(update).encode()  # the lone surrogate travels as the JSON escape \\ud83d
    assert b"\\ud83d" in body
    assert await raw_post(baken.client.port, right, body) == 200, "answered, so Telegram never re-delivers it"
    assert await raw_post(baken.client.port, right, body) == 200, "and a re-delivery is a no-op"
