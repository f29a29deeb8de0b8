"""An attacker's tools for the erasure proofs: every key a server still holds, and a search of raw bytes.

The search does not need a ciphertext's length, context or tag: AES-GCM is AES-CTR underneath, so a key and
the 12-byte nonce after a header are enough to read any fragment. That is stronger than the server's own
reading, so a canary this misses is not readable by the keys tried.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.crypto import FORMAT, MAGIC, first_pseudonym_key, legacy_storage_key, master_kek, unwrap

HEADER = bytes([MAGIC, FORMAT])
WRAPPED_SIZE = 12 + 32 + 16
#: how far after a header the search reads: longer than any canary's distance from its ciphertext's start
SPAN = 16384


def copy_folder(folder: Path, to: Path) -> Path:
    """A copy of a data folder as someone with the disk would take it: the files as they are, WAL and all."""
    to.mkdir(parents=True)
    for item in folder.iterdir():
        if item.is_file():
            shutil.copyfile(item, to / item.name)
    return to


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def wrapped_rows_sqlite(db: Path) -> list[tuple[str, int, int, bytes]]:
    """The data key rows a copy of an SQLite database holds (its WAL applied, as SQLite reads it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(str(r[0]), int(r[1]), int(r[2]), bytes(r[3]))
                for r in conn.execute("SELECT id, version, master_version, wrapped FROM data_keys")]
    finally:
        conn.close()


def keys_held(secret: bytes, rows: Iterable[tuple[str, int, int, bytes]]) -> list[bytes]:
    """Every key the server still has: each wrapped key it can unwrap, and what its secret derives."""
    kek = master_kek(secret)
    keys = [legacy_storage_key(secret), first_pseudonym_key(secret)]
    for key_id, version, _master_version, wrapped in rows:
        try:
            keys.append(unwrap(kek, key_id, version, wrapped))
        except InvalidTag:
            continue
    return keys


def readable(raw: bytes, keys: Iterable[bytes], canaries: Iterable[str]) -> set[str]:
    """The canaries any key reads from any sealed fragment in `raw` (found by its header)."""
    wanted = [c.encode() for c in canaries]
    found: set[str] = set()
    starts = []
    at = raw.find(HEADER)
    while at != -1:
        starts.append(at)
        at = raw.find(HEADER, at + 1)
    for key in keys:
        for start in starts:
            nonce = raw[start + 4:start + 16]
            if len(nonce) < 12:
                continue
            body = raw[start + 16:start + 16 + SPAN]
            stream = Cipher(algorithms.AES(key), modes.CTR(nonce + b"\x00\x00\x00\x02")).decryptor()
            plain = stream.update(body)
            found.update(c.decode() for c in wanted if c in plain)
    return found


def unwrappable_windows(raw: bytes, secret: bytes, key_ids: Iterable[str]) -> list[str]:
    """Ids of the given data keys whose wrapped form is still anywhere in `raw`, tried at every offset.

    A deleted row can leave its bytes in a page's free space or a WAL frame; a key found there would open
    everything it sealed.
    """
    kek = AESGCM(master_kek(secret))
    hits = []
    for key_id in key_ids:
        aad = f"data key {key_id} v1".encode()
        for start in range(0, len(raw) - WRAPPED_SIZE + 1):
            window = raw[start:start + WRAPPED_SIZE]
            try:
                kek.decrypt(window[:12], window[12:], aad)
            except InvalidTag:
                continue
            hits.append(key_id)
            break
    return hits
