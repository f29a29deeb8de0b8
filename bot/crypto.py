"""Keyed pseudonyms and authenticated encryption, both derived from the one server secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"baken-v1", info=purpose).derive(secret)


class Keyring:
    """Separate keys per purpose, so a leaked pseudonym key never decrypts stored text."""

    def __init__(self, secret: bytes) -> None:
        self._pseudonym_key = _derive(secret, b"pseudonym")
        self._aead = AESGCM(_derive(secret, b"storage"))

    def pseudonym(self, channel: str, user_id: str | int) -> str:
        """HMAC-SHA256(secret, channel:user_id): stable per person and channel, meaningless without the key."""
        msg = f"{channel}:{user_id}".encode()
        return hmac.new(self._pseudonym_key, msg, hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], context.encode())

    def seal_json(self, value: Any, context: str) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), context)

    def open_json(self, blob: bytes, context: str) -> Any:
        return json.loads(self.decrypt(blob, context))

    def seal_text(self, text: str, context: str) -> bytes:
        return self.encrypt(text.encode(), context)

    def open_text(self, blob: bytes, context: str) -> str:
        return self.decrypt(blob, context).decode()
