"""`baken backup` and `baken restore`: a consistent copy of the database, never a key.

A backup is one tar file (mode 0600) holding `manifest.json` (format, backend, the key's public fingerprint,
the schema revision, when, the day of its backup key), the database without its data keys, and
`data_keys.sealed`: the data keys' rows (each still wrapped under the master key), sealed with the backup key
of the day (bot.backup_keys), which is destroyed `BAKEN_BACKUP_KEY_DAYS` later, so that an erasure reaches
every backup within that many days. The database is, for SQLite, a copy made with SQLite's online backup API
(a consistent snapshot while the server keeps writing; the data keys and free pages dropped with
secure_delete and VACUUM), for PostgreSQL a `pg_dump --format=custom` (one snapshot transaction) without the
data keys' rows, which are read after the dump (so every key the dump needs is there). Neither the server
key nor a backup key is inside: without both the copy's texts cannot be read. A restore refuses a key whose
fingerprint differs from the backup's, a backup whose day key is gone, and a database that holds data.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backup_keys import BackupKeyGone, BackupKeys, open_rows, seal_rows
from bot.server_key import fingerprint, tighten
from bot.settings import Settings
from bot.storage.database import is_sqlite, make_engine
from bot.storage.key_record import holds_data

FORMAT = 2  # 2: data keys sealed with the day's backup key; format 1 (data keys inside) is still restored
MANIFEST = "manifest.json"
KEYS_MEMBER = "data_keys.sealed"
SQLITE_MEMBER = "baken.sqlite3"
PG_MEMBER = "baken.pgdump"


class BackupProblem(RuntimeError):
    """The backup or restore did not happen; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    format: int
    backend: str  # "sqlite" or "postgresql"
    key_fingerprint: str
    revisions: list[str]
    created_at: str
    baken_version: str
    key_epoch: str = ""  # the day of the backup key sealing the data keys (format 2)

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            manifest = cls(**{name: data[name] for name in cls.__dataclass_fields__ if name != "key_epoch"},
                           key_epoch=str(data.get("key_epoch", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupProblem("this file is not a Baken backup (its manifest is missing or broken)") from exc
        if manifest.format not in (1, FORMAT):
            raise BackupProblem(f"this backup has format {manifest.format}; this version reads formats 1 and {FORMAT}")
        if manifest.format == FORMAT and not manifest.key_epoch:
            raise BackupProblem("this backup's manifest names no backup key: it was altered")
        if manifest.backend not in ("sqlite", "postgresql"):
            raise BackupProblem(f"this backup is of an unknown database kind {manifest.backend!r}")
        return manifest


def _baken_version() -> str:
    try:
        return version("baken")
    except PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------------------------ backup
def backup(settings: Settings, out: Path) -> Manifest:
    """Write a backup of the configured database to `out` (which must not exist yet)."""
    if out.exists():
        raise BackupProblem(f"{out} exists already; give a new file name (backups are never overwritten)")
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = backup_keys(settings)
    now = dt.datetime.now(dt.UTC)
    keys.prune(now)
    epoch, day_key = keys.for_day(now)
    with tempfile.TemporaryDirectory(prefix="baken-backup-", dir=out.parent) as work:
        folder = Path(work)
        if is_sqlite(settings.db_url):
            member, (manifest, rows) = SQLITE_MEMBER, _sqlite_snapshot(settings, folder / SQLITE_MEMBER)
        else:
            member, (manifest, rows) = PG_MEMBER, _pg_dump(settings.db_url, folder / PG_MEMBER)
        manifest = replace(manifest, key_epoch=epoch)
        partial = folder / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            blob = json.dumps(asdict(manifest), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(blob), 0o600
            tar.addfile(info, io.BytesIO(blob))
            tar.add(folder / member, arcname=member)
            sealed = seal_rows(day_key, epoch, rows)
            info = tarfile.TarInfo(KEYS_MEMBER)
            info.size, info.mode = len(sealed), 0o600
            tar.addfile(info, io.BytesIO(sealed))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)  # whole or nothing: a reader never sees half a backup
    return manifest


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupProblem("an in-memory database cannot be backed up")
    return Path(database)


def backup_keys(settings: Settings) -> BackupKeys:
    return BackupKeys(settings.backup_keys_folder, settings.backup_key_days)


def _sqlite_snapshot(settings: Settings, copy: Path) -> tuple[Manifest, list[dict[str, Any]]]:
    source = _sqlite_file(settings.db_url)
    if not source.exists():
        raise BackupProblem(f"there is no database at {source} to back up")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        # all pages in one step: one read transaction, so the copy is one consistent moment even while the
        # server writes (WAL readers do not block the writer, nor it them)
        src.backup(dst, pages=-1)
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        rows = [{"id": r[0], "version": r[1], "master_version": r[2], "wrapped": base64.b64encode(r[3]).decode(),
                 "created_at": r[4]}
                for r in dst.execute("SELECT id, version, master_version, wrapped, created_at FROM data_keys")]
        dst.execute("PRAGMA secure_delete=ON")
        dst.execute("DELETE FROM data_keys")  # they travel sealed with the day's backup key
        dst.commit()
        dst.execute("VACUUM")  # drop free pages: nothing erased before the backup rides along in it
        check = dst.execute("PRAGMA integrity_check").fetchone()
        if check is None or check[0] != "ok":
            raise BackupProblem(f"the copy failed SQLite's integrity check: {check}")
        recorded, revisions = _sqlite_identity(dst)
    finally:
        dst.close()
    return _manifest("sqlite", recorded, revisions), rows


def _sqlite_identity(conn: sqlite3.Connection) -> tuple[str, list[str]]:
    try:
        row = conn.execute("SELECT fingerprint FROM key_fingerprint WHERE id = 1").fetchone()
        revisions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as exc:
        raise BackupProblem("the database has no Baken tables yet: start `baken serve` once first") from exc
    if row is None:
        raise BackupProblem("the database records no key fingerprint yet: start `baken serve` once first")
    return str(row[0]), revisions


def _manifest(backend: str, recorded: str, revisions: list[str]) -> Manifest:
    return Manifest(FORMAT, backend, recorded, sorted(revisions),
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), _baken_version())


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, the password passed in the environment, not argv."""
    parsed: URL = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    # built anew: URL.set(password=None) would keep the password (None there means "unchanged")
    dsn = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                     database=parsed.database).render_as_string(hide_password=False)
    return dsn, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupProblem(
            f"{name} is not installed: install the PostgreSQL client tools (Debian: postgresql-client) of the "
            f"server's major version or newer"
        )
    return found


def _pg_dump(url: str, dump: Path) -> tuple[Manifest, list[dict[str, Any]]]:
    recorded, revisions = asyncio.run(_pg_identity(url))
    dsn, env = _libpq(url)
    done = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--exclude-table-data=data_keys",
         f"--file={dump}", f"--dbname={dsn}"],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise BackupProblem(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    os.chmod(dump, 0o600)
    # after the dump: every key its rows need still exists now, unless erased meanwhile (and then rightly gone)
    return _manifest("postgresql", recorded, revisions), asyncio.run(_pg_data_keys(url))


async def _pg_data_keys(url: str) -> list[dict[str, Any]]:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            result = await conn.execute(text("SELECT id, version, master_version, wrapped, created_at FROM data_keys"))
            return [{"id": r[0], "version": r[1], "master_version": r[2],
                     "wrapped": base64.b64encode(bytes(r[3])).decode(), "created_at": r[4].isoformat()}
                    for r in result]
    finally:
        await db.dispose()


async def _pg_identity(url: str) -> tuple[str, list[str]]:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            try:
                recorded = (await conn.execute(text("SELECT fingerprint FROM key_fingerprint WHERE id = 1"))
                            ).scalar_one_or_none()
                revisions = list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            except Exception as exc:
                raise BackupProblem("the database has no Baken tables yet: start `baken serve` once first") from exc
    finally:
        await db.dispose()
    if recorded is None:
        raise BackupProblem("the database records no key fingerprint yet: start `baken serve` once first")
    return str(recorded), [str(r) for r in revisions]


# ----------------------------------------------------------------------------------------------- restore
def read_manifest(archive: Path) -> Manifest:
    with tarfile.open(archive, mode="r:gz") as tar:
        member = tar.extractfile(MANIFEST)
        if member is None:
            raise BackupProblem("this file is not a Baken backup (no manifest)")
        return Manifest.parse(member.read())


def restore(settings: Settings, archive: Path) -> Manifest:
    """Put a backup in place of an empty database, only under the key it was made with."""
    if not archive.is_file():
        raise BackupProblem(f"there is no backup at {archive}")
    try:
        manifest = read_manifest(archive)
    except (tarfile.TarError, OSError) as exc:
        raise BackupProblem(f"{archive} is not a readable Baken backup ({type(exc).__name__})") from exc
    given = fingerprint(settings.secret)  # a missing or weak key stops here (KeyProblem)
    if given != manifest.key_fingerprint:
        raise BackupProblem(
            f"the configured server key (fingerprint {given}) is not the one this backup was made with "
            f"(fingerprint {manifest.key_fingerprint}). Restore that key first, from where you keep it apart "
            f"from the backups: with another key nothing in the backup can be read, and nothing was changed."
        )
    target = "sqlite" if is_sqlite(settings.db_url) else "postgresql"
    if target != manifest.backend:
        raise BackupProblem(
            f"this is a {manifest.backend} backup and the configured database is {target}: restore it into the "
            f"same kind of database (moving between the two is not supported)"
        )
    rows = None
    with tempfile.TemporaryDirectory(prefix="baken-restore-") as work:
        member = SQLITE_MEMBER if manifest.backend == "sqlite" else PG_MEMBER
        unpacked = Path(work) / member
        with tarfile.open(archive, mode="r:gz") as tar:
            if manifest.format == FORMAT:
                rows = _data_keys_of(settings, tar, manifest)  # before anything is written: the day key may be gone
            blob = tar.extractfile(member)
            if blob is None:
                raise BackupProblem(f"the backup holds no {member}")
            with blob, open(unpacked, "wb") as fh:
                shutil.copyfileobj(blob, fh)
        if manifest.backend == "sqlite":
            _restore_sqlite(settings, unpacked, manifest, rows)
        else:
            # the owner restores (it creates tables); the runtime role then gets its rows, as after a migration
            _restore_pg(settings.migration_url, unpacked, manifest, rows)
            from bot.schema import grant_if_split

            asyncio.run(grant_if_split(settings))
    return manifest


def _data_keys_of(settings: Settings, tar: tarfile.TarFile, manifest: Manifest) -> list[dict[str, Any]]:
    try:
        member = tar.extractfile(KEYS_MEMBER)
    except KeyError:
        member = None
    if member is None:
        raise BackupProblem(f"the backup holds no {KEYS_MEMBER}: it was altered")
    try:
        return open_rows(backup_keys(settings).get(manifest.key_epoch), manifest.key_epoch, member.read())
    except BackupKeyGone as gone:
        raise BackupProblem(f"{gone} Nothing was changed.") from gone


async def _has_data(url: str) -> bool:
    db = make_engine(url)
    try:
        return await holds_data(db)
    finally:
        await db.dispose()


def _restore_sqlite(settings: Settings, unpacked: Path, manifest: Manifest,
                    rows: list[dict[str, Any]] | None) -> None:
    conn = sqlite3.connect(unpacked)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()
        recorded, _ = _sqlite_identity(conn)
        if rows is not None and check is not None and check[0] == "ok":
            with conn:
                conn.executemany(
                    "INSERT INTO data_keys (id, version, master_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?)",
                    [(r["id"], r["version"], r["master_version"], base64.b64decode(r["wrapped"]), r["created_at"])
                     for r in rows],
                )
    finally:
        conn.close()
    if check is None or check[0] != "ok":
        raise BackupProblem(f"the database in the backup failed SQLite's integrity check: {check}")
    if recorded != manifest.key_fingerprint:
        raise BackupProblem("the backup's manifest and its database name different keys: it was altered")
    target = _sqlite_file(settings.db_url)
    if target.exists() and asyncio.run(_has_data(settings.db_url)):
        raise BackupProblem(
            f"{target} already holds data: restore into a new data folder (BAKEN_DATA_DIR), or move the old "
            f"database away first. Nothing was changed."
        )
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(unpacked, staged)
    os.chmod(staged, 0o600)
    for suffix in ("-wal", "-shm"):  # an empty database's leftovers must not be replayed onto the restored one
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(staged, target)
    tighten(target.parent)


async def _pg_tables(url: str) -> list[str]:
    db: AsyncEngine = make_engine(url)
    try:
        async with db.connect() as conn:
            return await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await db.dispose()


def _restore_pg(url: str, dump: Path, manifest: Manifest, rows: list[dict[str, Any]] | None) -> None:
    tables = asyncio.run(_pg_tables(url))
    if tables:
        raise BackupProblem(
            "the configured PostgreSQL database is not empty: create a new one (`createdb`) and point "
            "BAKEN_DATABASE_URL at it. Nothing was changed."
        )
    dsn, env = _libpq(url)
    done = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         f"--dbname={dsn}", str(dump)],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise BackupProblem(f"pg_restore failed (nothing was kept): {done.stderr.strip()[-500:]}")
    recorded, _ = asyncio.run(_pg_identity(url))
    if recorded != manifest.key_fingerprint:
        raise BackupProblem("the backup's manifest and its database name different keys: it was altered")
    if rows is not None:
        asyncio.run(_pg_put_data_keys(url, rows))


async def _pg_put_data_keys(url: str, rows: list[dict[str, Any]]) -> None:
    db = make_engine(url)
    try:
        async with db.begin() as conn:
            if rows:
                await conn.execute(
                    text("INSERT INTO data_keys (id, version, master_version, wrapped, created_at) "
                         "VALUES (:id, :version, :master_version, :wrapped, :created_at)"),
                    [{"id": r["id"], "version": r["version"], "master_version": r["master_version"],
                      "wrapped": base64.b64decode(r["wrapped"]),
                      "created_at": dt.datetime.fromisoformat(r["created_at"])} for r in rows],
                )
    finally:
        await db.dispose()
