"""ASVS 13.2.2: on PostgreSQL an owner role migrates and the server runs as a role with rows only.

Both roles are made for real on the test server: the owner owns the database, the runtime role owns
nothing (but the key table, which erasure must rewrite, before PostgreSQL 17). `baken db upgrade` runs as the
owner; a conversation is served, handed over and erased as the runtime role; that role then tries DDL and is
refused. Alone, the runtime role never migrates: it refuses to start while the schema is not current.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.app import build_services
from bot.health import current_revisions, head_revisions
from bot.schema import migrate_and_grant
from bot.settings import Settings, StartProblem
from bot.storage import data_keys
from bot.storage.database import make_engine
from bot.storage.migrate import alembic_config
from bot.storage.privileges import MAINTAIN_SINCE
from tests.bot.test_erasure_proof import a_canary_conversation, forget, raw_pages
from tests.canary import unwrappable_windows
from tests.conftest import POSTGRES_URL
from tests.server_keys import TEST_KEY

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="roles exist on PostgreSQL only (BAKEN_TEST_POSTGRES_URL "
                                                          "is not set)")

#: what a flaw in the server could try with its connection; each must be refused
DDL = (
    "DROP TABLE tickets",
    "ALTER TABLE sessions ADD COLUMN intruder text",
    "ALTER TABLE counsellors DROP COLUMN password_hash",
    "CREATE TABLE intruder (x int)",
    "CREATE INDEX intruder ON tickets (id)",
    "TRUNCATE audit_log",
    "DROP TABLE alembic_version",
    "UPDATE alembic_version SET version_num = 'intruder'",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
)


class Roles:
    """An owner and a runtime role, and a database the owner owns, on the test server; dropped afterwards."""

    def __init__(self) -> None:
        base = make_url(POSTGRES_URL or "")
        tag = uuid.uuid4().hex[:8]
        self.owner, self.runtime, self.name = f"baken_owner_{tag}", f"baken_app_{tag}", f"baken_roles_{tag}"
        self.admin = base.set(database=self.name).render_as_string(hide_password=False)
        self._server = base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.owner_url = base.set(username=self.owner, password=None, database=self.name).render_as_string(False)
        self.runtime_url = base.set(username=self.runtime, password=None, database=self.name).render_as_string(False)

    def run(self, *statements: str) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self._server)
            try:
                for statement in statements:
                    await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(go())


@pytest.fixture
def roles() -> Iterator[Roles]:
    r = Roles()
    # the owner may SET ROLE to the runtime role: it hands it the key table and keeps altering that table later
    r.run(f'CREATE ROLE "{r.owner}" LOGIN', f'CREATE ROLE "{r.runtime}" LOGIN', f'GRANT "{r.runtime}" TO "{r.owner}"',
          f'CREATE DATABASE "{r.name}" OWNER "{r.owner}"')
    try:
        yield r
    finally:
        r.run(f'DROP DATABASE IF EXISTS "{r.name}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{r.runtime}"',
              f'DROP ROLE IF EXISTS "{r.owner}"')


async def _tables(url: str) -> list[str]:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        return [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    finally:
        await conn.close()


async def test_the_runtime_role_alone_never_migrates_and_refuses_a_schema_not_current(
    roles: Roles, tmp_path: Path,
) -> None:
    runtime_only = Settings(data_dir=tmp_path, database_url=roles.runtime_url, secret_key=TEST_KEY)
    with pytest.raises(StartProblem, match=r"no schema yet.*may not change it.*baken db upgrade.*"
                                           r"BAKEN_MIGRATION_DATABASE_URL"):
        await build_services(runtime_only)
    assert await _tables(roles.admin) == [], "no DDL was tried: not a table was made"

    (head,) = head_revisions()
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head).down_revision
    assert isinstance(previous, str)
    both = Settings(data_dir=tmp_path, database_url=roles.runtime_url, migration_database_url=roles.owner_url,
                    secret_key=TEST_KEY)
    await migrate_and_grant(both, previous)
    with pytest.raises(StartProblem, match="migrations behind"):
        await build_services(runtime_only)
    db = make_engine(roles.admin)
    try:
        assert await current_revisions(db) == {previous}, "the runtime role left the schema as it was"
    finally:
        await db.dispose()


async def test_the_owner_migrates_and_the_runtime_role_serves_with_rows_only(roles: Roles, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path), "BAKEN_DATABASE_URL": roles.runtime_url,
            "BAKEN_MIGRATION_DATABASE_URL": roles.owner_url}
    upgraded = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env,
                                       capture_output=True, text=True, check=False)
    assert upgraded.returncode == 0, upgraded.stderr

    # the server, with the runtime role only: a whole conversation, a counsellor's answer, and /forget
    settings = Settings(data_dir=tmp_path, database_url=roles.runtime_url, secret_key=TEST_KEY)
    services = await build_services(settings)
    try:
        sid, ticket_id = await a_canary_conversation(services)
        await forget(services)
        await services.store.wait_for_erasure()
    finally:
        await services.close()
    admin = make_engine(roles.admin)
    try:  # erasure's rewrite of the key table worked for the runtime role: their keys are in no page
        their_keys = [data_keys.session_key_id(sid), data_keys.ticket_key_id(ticket_id)]
        assert unwrappable_windows(await raw_pages(admin), settings.secret, their_keys) == []
    finally:
        await admin.dispose()

    conn = await asyncpg.connect(make_url(roles.runtime_url).set(drivername="postgresql").render_as_string(False))
    try:
        refused = []
        for statement in DDL:
            try:
                await conn.execute(statement)
            except asyncpg.InsufficientPrivilegeError:
                refused.append(statement)
        assert refused == list(DDL), f"the runtime role could run: {sorted(set(DDL) - set(refused))}"
        owned = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE tableowner = current_user")}
        version = int(await conn.fetchval("SHOW server_version_num"))
        assert owned == (set() if version >= MAINTAIN_SINCE else {"data_keys"}), owned
        assert await conn.fetchval("SELECT count(*) FROM tickets") == 0  # and rows it may read
    finally:
        await conn.close()
