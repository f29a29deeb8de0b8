"""An erasure reaches backups: a backup's data keys are sealed with the day's backup key, destroyed after
`BAKEN_BACKUP_KEY_DAYS`. Before that the backup restores whole (the test could fail); after it, nothing
erased can be read from that backup with any key the server still holds, and a restore says why."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from bot.app import build_services
from bot.backup import KEYS_MEMBER, SQLITE_MEMBER, BackupProblem, backup, read_manifest, restore
from bot.backup_keys import BackupKeyGone, BackupKeys, open_rows
from bot.dispatch import Envelope
from bot.server_key import create_key
from bot.settings import Settings
from flows.messages import Inbound

CANARY = "Ottoline Brackenbury hides the key of the shed"
PERSON = "7301234599"


def settings_for(tmp: Path, data: str, key: Path) -> Settings:
    return Settings(data_dir=tmp / data, secret_key_file=key)


async def talk(settings: Settings, steps: list[str]) -> None:
    services = await build_services(settings)
    try:
        for n, step in enumerate(steps):
            inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
            await services.dispatcher.handle(Envelope("telegram", PERSON, inbound, update_key=f"{n}-{step}",
                                                      locale_hint="en", address=PERSON))
    finally:
        await services.close()


async def state_of(settings: Settings) -> str:
    services = await build_services(settings)
    try:
        return json.dumps(await services.dispatcher.load_state("telegram", PERSON))
    finally:
        await services.close()


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "secret.key"
    create_key(path)
    return path


async def test_a_backup_holds_no_data_key_and_restores_whole_while_its_day_key_lives(tmp_path: Path, key: Path
                                                                                     ) -> None:
    first = settings_for(tmp_path, "first", key)
    await talk(first, ["/start", "#go", "#role:parent", "#reason:young_person", CANARY])
    assert CANARY in await state_of(first)
    archive = tmp_path / "backups" / "b.tar.gz"
    manifest = await asyncio.to_thread(backup, first, archive)
    assert manifest.format == 2 and manifest.key_epoch == dt.datetime.now(dt.UTC).date().isoformat()
    assert (key.parent / "backup-keys" / f"{manifest.key_epoch}.key").stat().st_mode & 0o077 == 0

    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(["manifest.json", SQLITE_MEMBER, KEYS_MEMBER])
        tar.extract(SQLITE_MEMBER, tmp_path / "look", filter="data")
        sealed = tar.extractfile(KEYS_MEMBER).read()  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / "look" / SQLITE_MEMBER) as db:
        assert db.execute("SELECT count(*) FROM data_keys").fetchone() == (0,), "no data key in the database"
    rows = open_rows(BackupKeys(key.parent / "backup-keys").get(manifest.key_epoch), manifest.key_epoch, sealed)
    assert any(r["id"].startswith("session:") for r in rows) and any(r["id"] == "server:pseudonym" for r in rows)

    second = settings_for(tmp_path, "second", key)
    await asyncio.to_thread(restore, second, archive)
    assert CANARY in await state_of(second), "the day key lives: the conversation comes back whole"


async def test_once_the_day_key_is_destroyed_an_erased_story_cannot_come_back(tmp_path: Path, key: Path) -> None:
    first = settings_for(tmp_path, "first", key)
    await talk(first, ["/start", "#go", "#role:parent", "#reason:young_person", CANARY])
    archive = tmp_path / "backups" / "b.tar.gz"
    manifest = await asyncio.to_thread(backup, first, archive)
    await talk(first, ["/forget", "#forget_yes"])
    assert CANARY not in await state_of(first)

    keys = BackupKeys(key.parent / "backup-keys", first.backup_key_days)
    now = dt.datetime.now(dt.UTC)
    assert keys.prune(now + dt.timedelta(days=first.backup_key_days - 1)) == [], "kept while it may be needed"
    assert keys.prune(now + dt.timedelta(days=first.backup_key_days + 1)) == [manifest.key_epoch]
    assert list((key.parent / "backup-keys").iterdir()) == []

    with pytest.raises(BackupKeyGone):
        keys.get(read_manifest(archive).key_epoch)
    second = settings_for(tmp_path, "second", key)
    with pytest.raises(BackupProblem, match="destroyed"):
        await asyncio.to_thread(restore, second, archive)
    assert not (tmp_path / "second" / "baken.sqlite3").exists(), "nothing was written"


async def test_a_running_server_destroys_expired_day_keys_without_any_backup_being_made(tmp_path: Path) -> None:
    """`serve` prunes every hour (bot/housekeeping.py): a day key dies on time even when no backup follows."""
    from bot.housekeeping import pruning_backup_keys

    keys = BackupKeys(tmp_path / "backup-keys", days=7)
    now = dt.datetime.now(dt.UTC)
    old, recent = keys.for_day(now - dt.timedelta(days=8))[0], keys.for_day(now - dt.timedelta(days=6))[0]
    pruned = asyncio.Event()

    def clock() -> dt.datetime:
        pruned.set()
        return now

    async with pruning_backup_keys(keys, clock=clock):
        await asyncio.wait_for(pruned.wait(), 5)
        for _ in range(100):  # the prune runs in a thread right after reading the clock
            if not (tmp_path / "backup-keys" / f"{old}.key").exists():
                break
            await asyncio.sleep(0.01)
    assert sorted(p.stem for p in (tmp_path / "backup-keys").iterdir()) == [recent]
