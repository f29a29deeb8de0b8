"""The web chat's "End and erase": a copy of the database and its WAL taken right after it reads nothing back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from tests.bot.webchat.conftest import ChatServer, buttons
from tests.canary import copy_folder, folder_bytes, keys_held, readable, wrapped_rows_sqlite

CANARY = "Kievitsdreef-kanarie"
STORY = f"My nephew keeps quoting a channel called {CANARY}; call me on 0488 12 34 56."


async def test_end_and_erase_leaves_nothing_readable_in_a_copy(
    webchat_api: ChatServer, settings: Settings, tmp_path: Path
) -> None:
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("the folder copy is SQLite's; PostgreSQL's pages are read in tests/bot/test_erasure_proof.py")
    folder = Path(url.database or "").parent
    tab = await webchat_api.tab()
    await tab.hello("en")
    for choice in ("go", "role:parent", "reason:young_person"):
        await tab.choose(choice)
    await tab.act({"type": "text", "text": STORY})
    secret = settings.secret

    before = copy_folder(folder, tmp_path / "before")
    raw = folder_bytes(before)
    assert CANARY.encode() not in raw and b"0488 12 34 56" not in raw
    held = keys_held(secret, wrapped_rows_sqlite(before / "baken.sqlite3"))
    assert readable(raw, held, [CANARY]) == {CANARY}, "control: the story reads back before the erasure"

    confirm = await tab.act({"type": "command", "name": "forget"})
    assert "forget_yes" in buttons(confirm)
    assert (await tab.choose("forget_yes"))["type"] == "erased"
    after = copy_folder(folder, tmp_path / "after")
    raw = folder_bytes(after)
    held = keys_held(secret, wrapped_rows_sqlite(after / "baken.sqlite3"))
    assert CANARY.encode() not in raw
    assert readable(raw, held, [CANARY, "0488 12 34 56"]) == set(), "no key left reads the erased story"
