"""The server key: created once on purpose, strong enough, private, and provably the database's own.

Losing the key silently would give every person a new pseudonym and orphan what they told Baken (their
`/forget` could no longer reach it), so nothing here ever replaces a key on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIN_BITS = 256
MIN_DISTINCT = 12
KEY_FILE = "secret.key"


class KeyProblem(RuntimeError):
    """The server must not start: the message says why and what to do, and never contains the key."""


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the key came from, for messages: an environment variable or a file."""

    secret: bytes
    path: Path | None


def estimated_bits(raw: str) -> float:
    """A generous upper bound of a key's entropy from its length and the character classes it draws on."""
    alphabet = 0
    alphabet += 26 if any(c.islower() for c in raw) else 0
    alphabet += 26 if any(c.isupper() for c in raw) else 0
    alphabet += 10 if any(c.isdigit() for c in raw) else 0
    alphabet += 33 if any(not c.isalnum() for c in raw) else 0
    return len(raw) * math.log2(alphabet) if alphabet > 1 else 0.0


def check_strength(raw: str, where: str) -> None:
    """Refuse keys a person could guess or type: under 256 bits by the estimate, or few distinct symbols."""
    if estimated_bits(raw) < MIN_BITS or len(set(raw)) < MIN_DISTINCT:
        raise KeyProblem(
            f"the server key in {where} is too weak (at least {MIN_BITS} bits of randomness are needed, "
            f"e.g. 43 or more random URL-safe characters). Create one with `baken keys init` for a new "
            f"installation; never replace the key of an existing database."
        )


def fingerprint(secret: bytes) -> str:
    """A public check value of the key: it shows which key a database belongs to and reveals nothing of it."""
    return hmac.new(secret, b"baken key fingerprint v1", hashlib.sha256).hexdigest()[:32]


def key_path(data_dir: Path, configured: Path | None) -> Path:
    return configured if configured is not None else data_dir / KEY_FILE


def read_key(env_value: str | None, path: Path) -> KeySource:
    """The configured key, checked; a missing key is a problem to state, never a reason to make one."""
    if env_value is not None:
        raw = env_value.strip()
        check_strength(raw, "BAKEN_SECRET_KEY")
        return KeySource(raw.encode(), None)
    if not path.exists():
        raise KeyProblem(
            f"no server key at {path}. For a new installation, run `baken keys init` (`make run` does). "
            f"If this installation has a database already, restore its key from your backup: a new key "
            f"cannot read what is stored."
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyProblem(
            f"the server key {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
        )
    raw = path.read_text(encoding="utf-8", errors="strict").strip()
    check_strength(raw, str(path))
    return KeySource(raw.encode(), path)


def create_key(path: Path) -> str:
    """Write a new random key (384 bits, mode 0600) where none exists; returns its fingerprint."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    raw = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(raw + "\n")
    return fingerprint(raw.encode())


def next_key_path(path: Path) -> Path:
    """Where `baken keys rotate` writes the new key before the database has taken it."""
    return path.with_name(path.name + ".next")


def retired_key_path(path: Path, version: int) -> Path:
    """Where a rotation leaves the key it replaced: it opens only backups made before the rotation."""
    return path.with_name(f"{path.name}.retired-v{version}")


def key_finder(path: Path | None) -> Callable[[str], bytes | None]:
    """For a running server after a rotation: the key (in the key file, or the one a rotation is writing)
    whose fingerprint the database now names."""

    def find(wanted: str) -> bytes | None:
        if path is None:
            return None
        for candidate in (path, next_key_path(path)):
            try:
                raw = candidate.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                continue
            if raw and hmac.compare_digest(fingerprint(raw.encode()), wanted):
                return raw.encode()
        return None

    return find


def finish_rotation(path: Path, wanted: str, old_version: int) -> bytes | None:
    """A rotation that stopped after the database took the new key: put the new key in place; else None."""
    upcoming = next_key_path(path)
    try:
        raw = upcoming.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not raw or not hmac.compare_digest(fingerprint(raw.encode()), wanted):
        return None
    if path.exists():
        os.replace(path, retired_key_path(path, old_version))
    os.replace(upcoming, path)
    return raw.encode()


def write_next_key(path: Path) -> bytes:
    """A new random key at the rotation's path (mode 0600), replacing an unfinished one."""
    target = next_key_path(path)
    raw = secrets.token_urlsafe(48)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(raw + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return raw.encode()


def tighten(data_dir: Path) -> None:
    """The data folder 0700 and the SQLite files in it 0600, whatever an older version or a umask left."""
    if not data_dir.exists():
        return
    os.chmod(data_dir, 0o700)
    for path in data_dir.glob("*.sqlite3*"):
        os.chmod(path, 0o600)
