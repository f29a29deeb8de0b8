"""Data keys in their own rows, wrapped by the master key: made on first use, erased with what they sealed.

One key per conversation (`session:<pseudonym>`: the session's data and address, its outbox, its web chat
code) and one per ticket (`ticket:<id>`: summary, story, profile, relayed messages, notes, outcome detail),
plus the server's own (`server:pseudonym`, the pseudonym key; `server:data`, for what belongs to no
conversation). Every function runs inside the caller's transaction; unwrapped keys are cached in the
transaction's `Session.info`, and per process in the keyring's small bounded memo of unwraps
(`bot.crypto.OpenedKeys`), which is consulted only with the key's row as just read in this transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import CursorResult, bindparam, delete, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.crypto import DataKey, Keyring, MasterKeys, OpenedKeys, first_pseudonym_key, legacy_storage_key, unwrap, wrap
from bot.server_key import KeyProblem
from bot.storage.models import DataKeyRow, KeyFingerprint, utcminute
from bot.storage.repository import Contention

SERVER_PSEUDONYM = "server:pseudonym"
SERVER_DATA = "server:data"
_CACHE = "baken.data_keys"
_KEYS = DataKeyRow.__table__  # type: ignore[attr-defined]
# built once: a statement built per call costs more in SQLAlchemy's cache-key work than SQLite spends on it
_SELECT_KEY = select(_KEYS.c.version, _KEYS.c.master_version, _KEYS.c.wrapped).where(_KEYS.c.id == bindparam("kid"))
_SELECT_KEY_SQL = "SELECT version, master_version, wrapped FROM data_keys WHERE id = :kid"
_INSERT = text(
    "INSERT INTO data_keys (id, version, master_version, wrapped, created_at) "
    "VALUES (:id, :version, :master_version, :wrapped, :created_at) ON CONFLICT (id) DO NOTHING"
).bindparams(bindparam("wrapped", type_=_KEYS.c.wrapped.type), bindparam("created_at", type_=_KEYS.c.created_at.type))


def session_key_id(session_id: str) -> str:
    return f"session:{session_id}"


def ticket_key_id(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def _cache(s: Session) -> dict[str, DataKey]:
    return cast(dict[str, DataKey], s.info.setdefault(_CACHE, {}))


_MASTER = select(col(KeyFingerprint.version), col(KeyFingerprint.fingerprint)).where(col(KeyFingerprint.id) == 1)
_MASTER_SHARED = _MASTER.with_for_update(read=True)


def current_master(s: Session) -> tuple[int, str]:
    """The master key version new keys are wrapped with, and its fingerprint.

    PostgreSQL: read FOR SHARE, so a rotation (which updates this row first) and a new key wait for each
    other: a key is either wrapped before the rotation and re-wrapped by it, or wrapped with the new master.
    """
    conn = s.connection()  # Core, built once: a new conversation's first message asks this (see LazySession)
    row = conn.execute(_MASTER_SHARED if conn.dialect.name == "postgresql" else _MASTER).first()
    if row is None:
        raise KeyProblem("the database has no key fingerprint: start the server once with its key")
    return int(row[0]), str(row[1])


def _kek(s: Session, masters: MasterKeys, version: int) -> bytes:
    if not masters.knows(version):
        current, fingerprint = current_master(s)
        if current != version or not masters.learn(version, fingerprint):
            raise KeyProblem(
                f"the master key version {version} is not at hand: after `baken keys rotate` the key file must "
                "hold the new key"
            )
    return masters.kek(version)


def _open(s: Session, keyring: Keyring, key_id: str, version: int, master_version: int, wrapped: bytes) -> DataKey:
    """Unwrap a key row as read in this transaction; the memo spares the unwrap of a row seen before.

    The memo is keyed by the whole row (id, version, master version and the wrapped bytes, whose nonce is
    random): it can only answer for a row that still exists, so a deleted key (erasure) or a re-wrapped one
    (rotation) is never opened from it, in this process or any other.
    """
    wrapped = bytes(wrapped)
    memo = (key_id, version, master_version, wrapped)
    found = keyring.opened.get(memo)
    if found is not None:
        return found
    raw = unwrap(_kek(s, keyring.masters, master_version), key_id, version, wrapped)
    key = DataKey(raw, version, legacy=keyring.legacy)
    keyring.opened.put(memo, key)
    return key


def _create(s: Session, masters: MasterKeys, key_id: str, raw: bytes) -> None:
    master_version, _ = current_master(s)
    params = {"id": key_id, "version": 1, "master_version": master_version,
              "wrapped": wrap(_kek(s, masters, master_version), key_id, 1, raw), "created_at": utcminute()}
    if not cast(CursorResult[Any], s.connection().execute(_INSERT, params)).rowcount:
        raise Contention("the data key was created meanwhile")


def obtain(s: Session, keyring: Keyring, key_id: str, *, create: bool = True) -> DataKey:
    """The data key `key_id`, unwrapped; a new random one when there is none yet (unless `create` is False,
    then KeyError: what it sealed was erased)."""
    cache = _cache(s)
    found = cache.get(key_id)
    if found is not None:
        return found
    conn = s.connection()
    if conn.dialect.name == "sqlite":  # the driver itself: see Repository.raw
        driver = cast("sqlite3.Connection", conn.connection.driver_connection)
        row = driver.execute(_SELECT_KEY_SQL, {"kid": key_id}).fetchone()
    else:
        row = conn.execute(_SELECT_KEY, {"kid": key_id}).first()
    if row is not None:
        key = _open(s, keyring, key_id, int(row[0]), int(row[1]), row[2])
    elif not create:
        raise KeyError(key_id)
    else:
        raw = os.urandom(32)
        _create(s, keyring.masters, key_id, raw)
        key = DataKey(raw, 1, legacy=keyring.legacy)
    cache[key_id] = key
    return key


def preload(s: Session, keyring: Keyring, key_ids: Iterable[str]) -> None:
    """Unwrap many keys with one query (a queue page's tickets)."""
    cache = _cache(s)
    wanted = [k for k in set(key_ids) if k not in cache]
    if not wanted:
        return
    stmt = select(_KEYS.c.id, _KEYS.c.version, _KEYS.c.master_version, _KEYS.c.wrapped).where(
        _KEYS.c.id.in_(wanted))
    for key_id, version, master_version, wrapped in s.connection().execute(stmt):
        cache[key_id] = _open(s, keyring, key_id, int(version), int(master_version), wrapped)


def erase(s: Session, key_ids: Iterable[str]) -> int:
    """Destroy data keys: from the commit on, whatever they sealed is noise, in every copy.

    This process's memos of unwrapped keys forget them at once too (they could not open them again anyway:
    a memo answers only for a row that still exists).
    """
    ids = list(key_ids)
    cache = _cache(s)
    for key_id in ids:
        cache.pop(key_id, None)
    OpenedKeys.forget_everywhere(ids)
    if not ids:
        return 0
    return int(cast(CursorResult[Any], s.execute(delete(DataKeyRow).where(col(DataKeyRow.id).in_(ids)))).rowcount)


def _server_key(s: Session, masters: MasterKeys, key_id: str, fresh: bytes | None) -> bytes:
    row = s.execute(select(DataKeyRow).where(col(DataKeyRow.id) == key_id)).scalars().first()
    if row is None:
        if fresh is None:
            raise KeyProblem(f"the database lacks its {key_id} key: restore it from a backup with its key")
        _create(s, masters, key_id, fresh)
        return fresh
    return unwrap(_kek(s, masters, row.master_version), key_id, row.version, row.wrapped)


def load_keyring(s: Session, secret: bytes, find: Callable[[str], bytes | None] | None = None) -> Keyring:
    """The server's keys from the database (made on a new one), unwrapped with the master key of `secret`.

    The pseudonym key of a database is the one its first secret gave: it stays (wrapped) when the master key
    is rotated, so every person keeps their pseudonym. The headerless format's key is only at hand while
    rows of it may remain (before adoption) and the first secret is still the master.
    """
    version, _fingerprint = current_master(s)
    adopted = bool(s.execute(select(col(KeyFingerprint.adopted)).where(col(KeyFingerprint.id) == 1)).scalar())
    masters = MasterKeys(version, secret, find)
    legacy = AESGCM(legacy_storage_key(secret)) if version == 1 and not adopted else None
    first = version == 1
    pseudonym_key = _server_key(s, masters, SERVER_PSEUDONYM, first_pseudonym_key(secret) if first else None)
    data_key = _server_key(s, masters, SERVER_DATA, os.urandom(32) if first else None)
    return Keyring(pseudonym_key, data_key, masters, legacy)


def rotate(s: Session, keyring: Keyring, new_secret: bytes, new_fingerprint: str) -> tuple[int, int]:
    """Re-wrap every data key under the master key of `new_secret`; returns (new version, keys re-wrapped).

    The fingerprint row is updated first: on PostgreSQL that row lock makes a concurrent new key wait and
    then wrap with the new master (see `current_master`); on SQLite the transaction holds the one write lock.
    """
    from bot.crypto import master_kek

    old_version, _ = current_master(s)
    new_version = old_version + 1
    s.execute(update(KeyFingerprint).where(col(KeyFingerprint.id) == 1)
              .values(fingerprint=new_fingerprint, version=new_version))
    new_kek = master_kek(new_secret)
    count = 0
    rows = s.connection().execute(select(_KEYS.c.id, _KEYS.c.version, _KEYS.c.master_version, _KEYS.c.wrapped))
    changes = []
    for key_id, version, master_version, wrapped in rows.all():
        raw = unwrap(_kek_known(keyring.masters, int(master_version)), key_id, int(version), bytes(wrapped))
        changes.append({"kid": key_id, "w": wrap(new_kek, key_id, int(version), raw), "mv": new_version})
        count += 1
    if changes:
        s.connection().execute(
            update(_KEYS).where(_KEYS.c.id == bindparam("kid")).values(wrapped=bindparam("w"),
                                                                     master_version=bindparam("mv")),
            changes,
        )
    keyring.masters.add(new_version, new_secret)
    _cache(s).clear()
    keyring.opened.clear()
    return new_version, count


def _kek_known(masters: MasterKeys, version: int) -> bytes:
    if not masters.knows(version):
        raise KeyProblem(f"a data key is wrapped with master key version {version}, which this key file lacks")
    return masters.kek(version)


#: the outbox "session" of the counsellors' new-ticket notices (bot.dispatch.COUNSELLOR_NOTICES): no person
NOTICES = "counsellors"


def outbox_key(s: Session, keyring: Keyring, session_id: str) -> DataKey:
    """The key an outbox row of `session_id` is sealed with: its conversation's, or the server's for notices."""
    if session_id == NOTICES:
        return keyring.server
    return obtain(s, keyring, session_key_id(session_id))
