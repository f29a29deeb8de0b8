"""The per-process memo of unwrapped conversation keys never outlives the key's row.

It spares the unwrap of a key row seen before; a conversation erased here, or by another process (its row
deleted behind this one's back), or a rotation, must leave nothing it could still open.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.app import Services, build_services
from bot.crypto import DataKey, OpenedKeys
from bot.dispatch import Envelope
from bot.settings import Settings
from bot.storage import data_keys
from flows.messages import Inbound
from tests.server_keys import TEST_KEY

USER = "memo-person"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    services = await build_services(Settings(data_dir=tmp_path / "data", secret_key=TEST_KEY))
    try:
        yield services
    finally:
        await services.close()


async def say(services: Services, *steps: str) -> None:
    for step in steps:
        inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
        delivery = await services.dispatcher.handle(
            Envelope("console", USER, inbound, update_key=uuid.uuid4().hex, locale_hint="nl"))
        await services.dispatcher.delivered(delivery.outbox_ids)


def memo_ids(services: Services) -> set[str]:
    return {row[0] for row in services.keyring.opened._keys}


async def test_forget_drops_the_conversation_key_from_the_memo(services: Services) -> None:
    await say(services, "/start", "#go")
    key_id = data_keys.session_key_id(services.dispatcher.pseudonym("console", USER))
    assert key_id in memo_ids(services), "control: a second step opened the key from its row and kept it"

    await say(services, "/forget", "#forget_yes")
    assert key_id not in memo_ids(services)
    assert await services.dispatcher.load_state("console", USER) == (None, None)


async def test_a_key_row_deleted_by_another_process_is_not_opened_from_the_memo(services: Services) -> None:
    await say(services, "/start", "#go")
    sid = services.dispatcher.pseudonym("console", USER)
    key_id = data_keys.session_key_id(sid)
    held = await services.store.run(lambda s: data_keys.obtain(s, services.keyring, key_id, create=False))
    sealed = held.seal_text("canary", "memo")

    def delete_behind_its_back(s: Session) -> None:  # what another process's /forget leaves: no row
        s.execute(text("DELETE FROM data_keys WHERE id = :id"), {"id": key_id})

    await services.store.run(delete_behind_its_back)
    assert key_id in memo_ids(services), "the memo still holds the old row (this process did not erase it)"
    with pytest.raises(KeyError):
        await services.store.run(lambda s: data_keys.obtain(s, services.keyring, key_id, create=False))
    fresh: DataKey = await services.store.run(lambda s: data_keys.obtain(s, services.keyring, key_id))
    with pytest.raises(InvalidTag):  # the new key is not the old one
        fresh.open_text(sealed, "memo")


def test_the_memo_is_bounded() -> None:
    memo = OpenedKeys(size=3)
    key = DataKey(bytes(32))
    for n in range(5):
        memo.put((f"session:{n}", 1, 1, bytes([n])), key)
    assert len(memo) == 3
    assert memo.get(("session:0", 1, 1, bytes([0]))) is None, "the least recently used went first"
    assert memo.get(("session:4", 1, 1, bytes([4]))) is key
