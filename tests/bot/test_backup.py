"""`baken backup` of a running server, `baken restore` into a fresh folder: the conversation resumes there.

The key lives outside the data folder (as the deployment guide asks) and never enters the backup; a restore
under another key, or over a database that holds data, is refused and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.backup import MANIFEST, read_manifest
from bot.server_key import create_key, fingerprint
from tests.bot.test_server import free_port
from tests.bot.webchat.conftest import Tab, buttons
from tests.conftest import POSTGRES_URL, _postgres_db


def _env(data: Path, key: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    return env | {"BAKEN_DATA_DIR": str(data), "BAKEN_SECRET_KEY_FILE": str(key), **extra}


def baken(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env | {"BAKEN_PORT": str(port)},
                            stderr=subprocess.PIPE, text=True)


@contextlib.asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[str]:
    """`baken serve` as its own process; yields its base URL once it is ready."""
    port = free_port()
    proc = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/readyz") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.1)  # a separate process: polling its port is the only signal it gives
            else:
                raise AssertionError("the server never became ready")
        yield base
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.communicate, timeout=20)


def secret_of(key: Path) -> bytes:
    return key.read_text().strip().encode()


async def tab(http: aiohttp.ClientSession, base: str) -> Tab:
    return Tab(await http.ws_connect(base.replace("http", "ws") + "/chat/ws"))


CANARY = "Zebediah Quillfeather keeps a notebook of grievances"


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "secret.key"  # outside every data folder
    create_key(path)
    return path


async def test_a_backup_of_a_running_server_restores_into_a_fresh_folder_and_the_conversation_resumes(
    tmp_path: Path, key: Path,
) -> None:
    first, second, archive = tmp_path / "first", tmp_path / "second", tmp_path / "backups" / "baken-1.tar.gz"
    async with serving(_env(first, key)) as base, aiohttp.ClientSession() as http:
        asking = await tab(http, base)  # a person who asked for a counsellor: a ticket in the queue
        await asking.hello("en")
        for step in ("go", "role:parent", "reason:general"):
            await asking.choose(step)
        told = await asking.act({"type": "text", "text": CANARY})
        if "danger:none" not in buttons(told):
            await asking.choose("go")
        for step in ("danger:none", "counsellor", "goal:advice"):
            await asking.choose(step)
        queued = await asking.choose("consent")
        midway = await tab(http, base)  # a person in the middle of the conversation
        await midway.hello("en")
        await midway.choose("go")
        where = buttons(await midway.choose("role:teacher"))
        assert where, "the step after the role offers choices"

        busy = await tab(http, base)  # someone keeps talking while the backup is made
        await busy.hello("en")

        async def keep_talking() -> None:
            while True:
                await busy.act({"type": "command", "name": "help"})

        talker = asyncio.create_task(keep_talking())
        await asyncio.sleep(0.2)
        made = await asyncio.to_thread(baken, _env(first, key), "backup", str(archive))
        talker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await talker
        assert made.returncode == 0, made.stderr
        assert "the server key is not in it" in made.stdout.lower()
        for ws in (asking, midway, busy):
            await ws.ws.close()

    raw = archive.read_bytes()
    secret = secret_of(key)
    assert secret not in raw and secret not in gzip.decompress(raw), "the key never enters a backup"
    assert asking.token is not None and midway.token is not None
    for canary in (CANARY.encode(), b"Quillfeather", asking.token.encode(), midway.token.encode()):
        assert canary not in gzip.decompress(raw), "no identity and no readable story in a backup"
    assert archive.stat().st_mode & 0o077 == 0, "the backup is readable by its owner only"
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, "baken.sqlite3", "data_keys.sealed"])
    assert read_manifest(archive).key_fingerprint == fingerprint(secret)

    done = baken(_env(second, key), "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert (second / "baken.sqlite3").stat().st_mode & 0o077 == 0
    with contextlib.closing(sqlite3.connect(second / "baken.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM tickets WHERE status = 'waiting'").fetchone() == (1,)

    async with serving(_env(second, key)) as base, aiohttp.ClientSession() as http:
        again = await tab(http, base)
        _session, shown = await again.hello("en", token=midway.token, fresh=True)
        assert shown.get("resumed") and buttons(shown) == where, "the conversation goes on where it was"
        waiting = await tab(http, base)
        session, in_queue = await waiting.hello("en", token=asking.token, fresh=True)
        assert session["new"] is False and in_queue.get("resumed")
        assert buttons(in_queue) == buttons(queued), "the person waiting for a counsellor is still waiting"


async def test_a_restore_under_another_key_is_refused_and_changes_nothing(tmp_path: Path, key: Path) -> None:
    first, archive = tmp_path / "first", tmp_path / "b.tar.gz"
    async with serving(_env(first, key)):
        assert baken(_env(first, key), "backup", str(archive)).returncode == 0
    other = tmp_path / "other-keys" / "secret.key"
    create_key(other)
    refused = baken(_env(tmp_path / "second", other), "restore", str(archive))
    assert refused.returncode == 1
    assert "not the one this backup was made with" in refused.stderr
    assert fingerprint(secret_of(key)) in refused.stderr
    assert not (tmp_path / "second" / "baken.sqlite3").exists()


async def test_a_restore_over_a_database_with_data_is_refused(tmp_path: Path, key: Path) -> None:
    first, archive = tmp_path / "first", tmp_path / "b.tar.gz"
    async with serving(_env(first, key)):
        assert baken(_env(first, key), "backup", str(archive)).returncode == 0
    before = (first / "baken.sqlite3").read_bytes()
    refused = baken(_env(first, key), "restore", str(archive))
    assert refused.returncode == 1 and "already holds data" in refused.stderr
    assert (first / "baken.sqlite3").read_bytes() == before
    again = baken(_env(first, key), "backup", str(archive))
    assert again.returncode == 1 and "never overwritten" in again.stderr


def test_a_file_that_is_no_backup_is_refused_kindly(tmp_path: Path, key: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a backup at all")
    refused = baken(_env(tmp_path / "data", key), "restore", str(junk))
    assert refused.returncode == 1 and "not a readable Baken backup" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.fixture
def two_pg_databases() -> Iterator[tuple[str, str]]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need BAKEN_TEST_POSTGRES_URL (set by .ci/run when a server answers)")
    source = _postgres_db()
    target = _postgres_db()
    try:
        yield next(source), next(target)
    finally:
        for gen in (source, target):
            gen.close()


async def test_postgresql_backup_with_pg_dump_restores_into_an_empty_database(
    two_pg_databases: tuple[str, str], tmp_path: Path, key: Path,
) -> None:
    source, target = two_pg_databases
    archive = tmp_path / "pg.tar.gz"
    async with serving(_env(tmp_path / "d1", key, BAKEN_DATABASE_URL=source)) as base, \
            aiohttp.ClientSession() as http:
        person = await tab(http, base)
        await person.hello("en")
        for step in ("go", "role:parent", "reason:general", "go", "danger:none", "counsellor", "goal:advice"):
            await person.choose(step)
        await person.choose("consent")
        midway = await tab(http, base)
        await midway.hello("en")
        await midway.choose("go")
        where = buttons(await midway.choose("role:parent"))
        made = await asyncio.to_thread(baken, _env(tmp_path / "d1", key, BAKEN_DATABASE_URL=source),
                                       "backup", str(archive))
        assert made.returncode == 0, made.stderr
        await person.ws.close()
        await midway.ws.close()
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, "baken.pgdump", "data_keys.sealed"])
    assert secret_of(key) not in gzip.decompress(archive.read_bytes())

    done = baken(_env(tmp_path / "d2", key, BAKEN_DATABASE_URL=target), "restore", str(archive))
    assert done.returncode == 0, done.stderr
    async with serving(_env(tmp_path / "d2", key, BAKEN_DATABASE_URL=target)) as base, \
            aiohttp.ClientSession() as http:
        again = await tab(http, base)
        _session, shown = await again.hello("en", token=midway.token, fresh=True)
        assert shown.get("resumed") and buttons(shown) == where
        import asyncpg
        from sqlalchemy.engine import make_url

        conn = await asyncpg.connect(make_url(target).set(drivername="postgresql").render_as_string(False))
        try:
            assert await conn.fetchval("SELECT count(*) FROM tickets WHERE status = 'waiting'") == 1
        finally:
            await conn.close()
    again_refused = baken(_env(tmp_path / "d2", key, BAKEN_DATABASE_URL=target), "restore", str(archive))
    assert again_refused.returncode == 1 and "not empty" in again_refused.stderr


def test_pg_tools_get_the_password_in_their_environment_never_on_the_command_line() -> None:
    from bot.backup import _libpq

    dsn, env = _libpq("postgresql+asyncpg://baken:s3cret-pw@db.internal:5433/baken?ssl=require")
    assert "s3cret-pw" not in dsn and env["PGPASSWORD"] == "s3cret-pw"
    assert dsn == "postgresql://baken@db.internal:5433/baken"


def test_a_backup_of_another_format_is_refused() -> None:
    from bot.backup import BackupProblem, Manifest

    with pytest.raises(BackupProblem, match="format 3"):
        Manifest.parse(b'{"format": 3, "backend": "sqlite", "key_fingerprint": "x", "revisions": [],'
                       b' "created_at": "", "baken_version": "", "key_epoch": "2026-11-26"}')
    with pytest.raises(BackupProblem, match="names no backup key"):
        Manifest.parse(b'{"format": 2, "backend": "sqlite", "key_fingerprint": "x", "revisions": [],'
                       b' "created_at": "", "baken_version": ""}')
