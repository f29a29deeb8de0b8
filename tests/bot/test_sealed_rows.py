"""ASVS 11.3.3: a sealed value is authenticated with the row it belongs to. An edited byte anywhere (header,
nonce, text or tag), a value moved to another row, or a data key unwrapped for another conversation opens
nothing: AES-GCM refuses, so no altered text is ever shown to a counsellor or a person."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from bot.crypto import HEADER_SIZE, DataKey, unwrap, wrap


def test_an_edited_or_moved_sealed_value_opens_nothing() -> None:
    key = DataKey(os.urandom(32), version=3)
    blob = key.seal_text("my son spends his nights on those forums", "ticket:s1")
    assert key.open_text(blob, "ticket:s1") == "my son spends his nights on those forums"
    for at in (0, 2, HEADER_SIZE, HEADER_SIZE + 12, len(blob) // 2, len(blob) - 1):  # header, nonce, text, tag
        edited = bytearray(blob)
        edited[at] ^= 0x01
        with pytest.raises(InvalidTag):
            key.open_text(bytes(edited), "ticket:s1")
    with pytest.raises(InvalidTag):
        key.open_text(blob, "ticket:s2")  # the same bytes copied into another conversation's row
    with pytest.raises(InvalidTag):
        key.open_text(blob[:-1], "ticket:s1")
    with pytest.raises(InvalidTag):
        DataKey(os.urandom(32), version=3).open_text(blob, "ticket:s1")


def test_a_wrapped_data_key_opens_only_for_its_own_id_and_version() -> None:
    kek, data = os.urandom(32), os.urandom(32)
    wrapped = wrap(kek, "session:s1", 2, data)
    assert unwrap(kek, "session:s1", 2, wrapped) == data
    for key_id, version in (("session:s2", 2), ("session:s1", 1)):
        with pytest.raises(InvalidTag):
            unwrap(kek, key_id, version, wrapped)
