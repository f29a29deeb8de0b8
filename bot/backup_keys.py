"""Backup keys: one random key per day seals the data keys inside that day's backups, and dies after N days.

Why: erasure is cryptographic. `/forget` deletes a conversation's data key, so every copy of its rows is
unreadable, but a backup made before the erasure still holds that key (wrapped under the master key, which
the server keeps). A backup therefore carries no data key in its database: they travel in a member of their
own, sealed with the backup key of the day it was made. That key lives in a folder of its own beside the
server key (never in the backup, never in the database) and is destroyed `backup_key_days` after its day
(7 by default): from then on, nothing erased before can be read from any backup of that day, by any key the
server still holds. The price is the point: a backup older than that cannot be restored at all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("baken.backup")
_EPOCH = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_DAYS = 7
MAX_DAYS = 90


class BackupKeyGone(RuntimeError):
    """The key of a backup's day was destroyed (or never here): what it sealed cannot be opened."""


def epoch_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).date().isoformat()


class BackupKeys:
    """The folder of day keys: `<epoch>.key`, 32 random bytes, mode 0600, in a folder of mode 0700."""

    def __init__(self, folder: Path, days: int = DEFAULT_DAYS) -> None:
        self.folder = folder
        self.days = days

    def _path(self, epoch: str) -> Path:
        if not _EPOCH.match(epoch):
            raise BackupKeyGone(f"{epoch!r} is not a backup key's day")
        return self.folder / f"{epoch}.key"

    def for_day(self, now: dt.datetime) -> tuple[str, bytes]:
        """Today's key, made on first use (two backups the same day share it)."""
        epoch = epoch_of(now)
        path = self._path(epoch)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return epoch, self.get(epoch)
        with os.fdopen(fd, "wb") as fh:
            fh.write(AESGCM.generate_key(bit_length=256))
            fh.flush()
            os.fsync(fh.fileno())
        return epoch, self.get(epoch)

    def get(self, epoch: str) -> bytes:
        path = self._path(epoch)
        try:
            key = path.read_bytes()
        except FileNotFoundError as exc:
            raise BackupKeyGone(
                f"the backup key of {epoch} is not in {self.folder}: it was destroyed {self.days} days after that "
                f"day (BAKEN_BACKUP_KEY_DAYS), or this is not the machine that made the backup. Without it the "
                f"backup's data keys cannot be opened: that is how an erasure reaches old backups."
            ) from exc
        if len(key) != 32:
            raise BackupKeyGone(f"the backup key {path} is damaged ({len(key)} bytes instead of 32)")
        return key

    def prune(self, now: dt.datetime) -> list[str]:
        """Destroy every day key older than `days`: overwritten, synced, then removed. The days destroyed."""
        if not self.folder.is_dir():
            return []
        oldest = (now.astimezone(dt.UTC) - dt.timedelta(days=self.days)).date()
        gone = []
        for path in sorted(self.folder.glob("*.key")):
            epoch = path.stem
            if not _EPOCH.match(epoch) or dt.date.fromisoformat(epoch) >= oldest:
                continue
            with open(path, "r+b") as fh:  # best effort on flash storage: the file system may keep old blocks
                fh.write(b"\0" * max(32, path.stat().st_size))
                fh.flush()
                os.fsync(fh.fileno())
            path.unlink()
            gone.append(epoch)
        if gone:
            log.info("backup keys destroyed: %d day(s) older than %d days", len(gone), self.days)
        return gone


def _aad(epoch: str) -> bytes:
    return f"baken-backup-data-keys:{epoch}".encode()


def seal_rows(key: bytes, epoch: str, rows: list[dict[str, Any]]) -> bytes:
    """The data keys' rows (still wrapped under the master key) as JSON, sealed with the day key."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(rows).encode(), _aad(epoch))


def open_rows(key: bytes, epoch: str, blob: bytes) -> list[dict[str, Any]]:
    try:
        plain = AESGCM(key).decrypt(blob[:12], blob[12:], _aad(epoch))
    except InvalidTag as exc:
        raise BackupKeyGone(f"the backup's data keys do not open with the backup key of {epoch}") from exc
    rows = json.loads(plain)
    if not isinstance(rows, list):
        raise BackupKeyGone("the backup's data keys are not a list")
    return rows
