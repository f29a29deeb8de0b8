"""Urgent help on the web chat with the database locked by another writer: numbers first, the rest after."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from content.i18n import translator
from tests.bot.test_urgent_without_storage import SLOW, WITHIN, locked
from tests.bot.webchat.conftest import ChatServer, texts


async def test_web_chat_urgent_with_sqlite_locked(webchat_api: ChatServer, settings: Settings) -> None:
    if not settings.db_url.startswith("sqlite"):
        pytest.skip("this test locks the SQLite file; PostgreSQL's outage is tested on Telegram above")
    tab = await webchat_api.tab()
    await tab.hello("nl")
    db = Path(make_url(settings.db_url).database or "")
    async with locked(db):
        asked = time.monotonic()
        await tab.send({"type": "command", "name": "urgent", "id": "urgentframe0001"})
        first = await tab.until("messages", within=WITHIN)
        assert time.monotonic() - asked < WITHIN
        shown = texts(first)
        assert "112" in shown and "101" in shown and translator("nl")(SLOW) in shown
        assert first.get("re") is None, "the message stays unanswered on the page until it is stored"
    late = await tab.until("messages", within=40)
    assert late.get("re") == "urgentframe0001", "the stored answer follows once the lock is gone"
    assert late["items"], "the step's own answer"
    assert not [i for i in late["items"] if i.get("urgent")], "without the numbers a second time"


async def test_web_chat_danger_phrase_is_never_refused_by_the_limits(webchat_api: ChatServer) -> None:
    tab = await webchat_api.tab()
    await tab.hello("en")
    answer = await tab.act({"type": "text", "text": "He says he will kill someone tomorrow."})
    assert "112" in texts(answer)


