"""Keyed pseudonyms and envelope encryption: data keys that can be destroyed, wrapped by a master key.

Every conversation and every ticket has its own random data key (see `bot.storage.data_keys`); erasing the
key's row makes every copy of their ciphertexts (a WAL, a freed page, a backup made after the erasure)
unreadable. The master key only wraps data keys, so `baken keys rotate` re-wraps keys and rewrites no text.

A ciphertext starts with a 4-byte header: 0xBA, the format (1), and the data key's version (16 bits, big
endian); the header is authenticated with the text. Ciphertexts written before this format (no header:
a nonce at once) were sealed with one key derived from the server secret; they open with it until the
first start re-seals them under their conversation's key (`bot.storage.adoption`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAGIC = 0xBA
FORMAT = 1
_HEADER = struct.Struct(">BBH")
HEADER_SIZE = _HEADER.size
_NONCE = 12
_TAG = 16


def derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"baken-v1", info=purpose).derive(secret)


def master_kek(secret: bytes) -> bytes:
    """The key-wrapping key of one server secret (one master key version)."""
    return derive(secret, b"master key wrapping")


def legacy_storage_key(secret: bytes) -> bytes:
    """The one storage key of the format before data keys (ciphertexts without a header)."""
    return derive(secret, b"storage")


def first_pseudonym_key(secret: bytes) -> bytes:
    """The pseudonym key of a database's first secret; kept (wrapped) across rotations so pseudonyms hold."""
    return derive(secret, b"pseudonym")


def key_version(blob: bytes) -> int | None:
    """The data key version a ciphertext names, or None for a ciphertext of the format before headers."""
    if len(blob) >= HEADER_SIZE + _NONCE + _TAG and blob[0] == MAGIC and blob[1] == FORMAT:
        return int(_HEADER.unpack_from(blob)[2])
    return None


class DataKey:
    """One AES-256-GCM data key and its version; opens the headerless format too when given the old key."""

    __slots__ = ("_aead", "_key", "_legacy", "version")

    def __init__(self, key: bytes, version: int = 1, legacy: AESGCM | None = None) -> None:
        self._aead = AESGCM(key)
        self._key = key
        self.version = version
        self._legacy = legacy

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        header = _HEADER.pack(MAGIC, FORMAT, self.version)
        nonce = os.urandom(_NONCE)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        if key_version(blob) == self.version:
            header, nonce = blob[:HEADER_SIZE], blob[HEADER_SIZE:HEADER_SIZE + _NONCE]
            try:
                return self._aead.decrypt(nonce, blob[HEADER_SIZE + _NONCE:], header + context.encode())
            except InvalidTag:
                if self._legacy is None:  # a headerless blob whose random nonce looks like a header: rare
                    raise
        if self._legacy is None:
            raise InvalidTag("not sealed with this key")
        return self._legacy.decrypt(blob[:_NONCE], blob[_NONCE:], context.encode())

    def derive(self, purpose: bytes) -> bytes:
        """A key for another use that lives and dies with this one: erasing the data key erases it too."""
        return derive(self._key, purpose)

    def seal_json(self, value: Any, context: str) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), context)

    def open_json(self, blob: bytes, context: str) -> Any:
        return json.loads(self.decrypt(blob, context).decode())

    def seal_text(self, text: str, context: str) -> bytes:
        return self.encrypt(text.encode(), context)

    def open_text(self, blob: bytes, context: str) -> str:
        return self.decrypt(blob, context).decode()


def wrap(kek: bytes, key_id: str, version: int, key: bytes) -> bytes:
    """AES-GCM key wrap, bound to the key's id and version: a wrapped key moved to another row will not open."""
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, key, f"data key {key_id} v{version}".encode())


def unwrap(kek: bytes, key_id: str, version: int, wrapped: bytes) -> bytes:
    return AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], f"data key {key_id} v{version}".encode())


class OpenedKeys:
    """This process's memo of unwrapped data keys, bounded (least recently used out), in memory only.

    Keyed by the key's whole row (id, version, master version, wrapped bytes): `bot.storage.data_keys`
    consults it only with the row it has just read in the unit's transaction, so it spares the unwrap (and
    the AES-GCM set-up) of a row seen before and never answers for a key whose row was deleted (erasure)
    or re-wrapped (rotation). Erasure and rotation in this process drop entries at once as well.
    """

    _all: ClassVar[weakref.WeakSet[OpenedKeys]] = weakref.WeakSet()

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._keys: OrderedDict[tuple[str, int, int, bytes], DataKey] = OrderedDict()
        self._lock = threading.Lock()  # the SQLite writer thread and the event loop both unwrap keys
        OpenedKeys._all.add(self)

    @classmethod
    def forget_everywhere(cls, key_ids: Iterable[str]) -> None:
        """Erased keys leave every keyring's memo in this process (a process may hold several keyrings)."""
        ids = list(key_ids)
        for opened in list(cls._all):
            opened.forget(ids)

    def get(self, row: tuple[str, int, int, bytes]) -> DataKey | None:
        with self._lock:
            found = self._keys.get(row)
            if found is not None:
                self._keys.move_to_end(row)
            return found

    def put(self, row: tuple[str, int, int, bytes], key: DataKey) -> None:
        with self._lock:
            self._keys[row] = key
            self._keys.move_to_end(row)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)

    def forget(self, key_ids: Iterable[str]) -> None:
        ids = set(key_ids)
        with self._lock:
            for row in [r for r in self._keys if r[0] in ids]:
                del self._keys[row]

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)


class MasterKeys:
    """The master key versions this process holds; learns a newer one from the key file after a rotation.

    `find` is given the wanted fingerprint and returns a matching secret from the key file (or the file a
    rotation is writing), or None.
    """

    def __init__(self, version: int, secret: bytes, find: Callable[[str], bytes | None] | None = None) -> None:
        self._keks: dict[int, bytes] = {version: master_kek(secret)}
        self._find = find

    def knows(self, version: int) -> bool:
        return version in self._keks

    def kek(self, version: int) -> bytes:
        kek = self._keks.get(version)
        if kek is None:
            raise KeyError(version)
        return kek

    def learn(self, version: int, fingerprint: str) -> bool:
        """Load the master key of `version` from the key file; True when found (its fingerprint matched)."""
        if version in self._keks:
            return True
        secret = self._find(fingerprint) if self._find is not None else None
        if secret is None:
            return False
        self._keks[version] = master_kek(secret)
        return True

    def add(self, version: int, secret: bytes) -> None:
        self._keks[version] = master_kek(secret)


class Keyring:
    """The pseudonym key, the server's own data key and the master keys; conversation keys come per unit.

    `seal_*` / `open_*` use the server data key: only for what belongs to no conversation (counsellors'
    second-factor secrets, the counsellors' new-ticket notices). A conversation's words are sealed with
    `conversation(s, sid)`, a ticket's with `ticket(s, ticket_id)`.
    """

    def __init__(self, pseudonym_key: bytes, server: bytes, masters: MasterKeys, legacy: AESGCM | None = None) -> None:
        self._pseudonym_key = pseudonym_key
        self._legacy = legacy
        self._server_raw = server
        self._server = DataKey(server, 1, legacy=legacy)
        self.masters = masters
        #: unwrapped conversation and ticket keys, by their row (see OpenedKeys)
        self.opened = OpenedKeys()

    def pseudonym(self, channel: str, user_id: str | int) -> str:
        """HMAC-SHA256(key, channel:user_id): stable per person and channel, meaningless without the key."""
        msg = f"{channel}:{user_id}".encode()
        return hmac.new(self._pseudonym_key, msg, hashlib.sha256).hexdigest()

    def conversation(self, s: Session, session_id: str) -> DataKey:
        """The conversation's data key (made on first use); erased with the conversation."""
        from bot.storage import data_keys  # storage builds on this module, not the other way round

        return data_keys.obtain(s, self, data_keys.session_key_id(session_id))

    def ticket(self, s: Session, ticket_id: int) -> DataKey:
        """A ticket's data key: erased with the ticket, or with its conversation."""
        from bot.storage import data_keys

        return data_keys.obtain(s, self, data_keys.ticket_key_id(ticket_id))

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        return self._server.encrypt(plaintext, context)

    def decrypt(self, blob: bytes, context: str) -> bytes:
        return self._server.decrypt(blob, context)

    def seal_json(self, value: Any, context: str) -> bytes:
        return self._server.seal_json(value, context)

    def open_json(self, blob: bytes, context: str) -> Any:
        return self._server.open_json(blob, context)

    def seal_text(self, text: str, context: str) -> bytes:
        return self._server.seal_text(text, context)

    def open_text(self, blob: bytes, context: str) -> str:
        return self._server.open_text(blob, context)

    @property
    def server(self) -> DataKey:
        """The server's own data key: for what belongs to no conversation."""
        return self._server

    @property
    def legacy(self) -> AESGCM | None:
        """The key of ciphertexts without a header, while rows of that format may remain (before adoption)."""
        return self._legacy

    def drop_legacy(self) -> None:
        """Every row is re-sealed (adoption): the old single storage key is not kept in memory any more."""
        self._legacy = None
        self._server = DataKey(self._server_raw, 1)
        self.opened.clear()  # its keys still hold the old key
