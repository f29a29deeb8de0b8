"""Two PostgreSQL roles (ASVS 13.2.2): an owner that migrates, and a runtime role that only reads and writes rows.

A server that can change its own schema lets a flaw in it drop or alter tables; one that holds only DML on
Baken's tables cannot. `baken db upgrade` (with BAKEN_MIGRATION_DATABASE_URL, the owner) applies migrations and
then grants the runtime role (BAKEN_DATABASE_URL's user) exactly what `serve` needs. `serve` migrates only with
a role that owns the schema; a runtime role never tries, and a schema that is not current stops the start.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import is_sqlite, make_engine

log = logging.getLogger("baken.storage")

#: the one table the runtime role must be able to rewrite: erasure VACUUM FULLs it so an erased key's dead
#: row leaves the table's pages at once (bot/storage/store.py `after_erasure`)
KEY_TABLE = "data_keys"
#: alembic's table: the runtime role reads the revision (start, /readyz), never writes it
VERSION_TABLE = "alembic_version"
#: PostgreSQL 17 grants VACUUM by privilege (MAINTAIN); before it, only the table's owner may
MAINTAIN_SINCE = 170000


def role_of(url: str) -> str | None:
    """The user a PostgreSQL URL connects as (None for SQLite or a URL without one)."""
    parsed = make_url(url)
    return None if is_sqlite(url) else parsed.username


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def may_change_schema(db: AsyncEngine) -> bool:
    """Whether this connection's role owns Baken's schema (alembic's table, or, before the first migration,
    the database): only then may it migrate. SQLite has no roles."""
    if db.dialect.name == "sqlite":
        return True
    async with db.connect() as conn:
        owns = await conn.execute(text(
            "SELECT CASE WHEN to_regclass(:version) IS NULL "
            "THEN pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), "
            "'USAGE') "
            "ELSE pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass(:version)), "
            "'USAGE') END"), {"version": VERSION_TABLE})
        return bool(owns.scalar_one())


async def grant_runtime(owner_url: str, runtime_role: str) -> None:
    """Give the runtime role DML on every table of Baken's schema and nothing more (run as the owner, after
    each migration, so new tables are covered).

    The key table is the exception: erasure rewrites it with VACUUM FULL, which PostgreSQL before 17 allows
    only its owner, so there the runtime role owns `data_keys` (it may then drop or alter that table, which
    destroys no more than the DELETE it already may do). From 17 on it gets MAINTAIN on it instead.
    """
    role = _ident(runtime_role)
    db = make_engine(owner_url)
    try:
        async with db.begin() as conn:
            schema = _ident(str((await conn.execute(text("SELECT current_schema()"))).scalar_one()))
            version = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
            for statement in (
                f"REVOKE CREATE ON SCHEMA {schema} FROM {role}",
                f"GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {VERSION_TABLE} FROM {role}",
            ):
                await conn.execute(text(statement))
            if version >= MAINTAIN_SINCE:
                await conn.execute(text(f"GRANT MAINTAIN ON {KEY_TABLE} TO {role}"))
            else:
                # ALTER ... OWNER TO needs the new owner to have CREATE on the schema: for this statement only
                await conn.execute(text(f"GRANT CREATE ON SCHEMA {schema} TO {role}"))
                await conn.execute(text(f"ALTER TABLE {KEY_TABLE} OWNER TO {role}"))
                await conn.execute(text(f"REVOKE CREATE ON SCHEMA {schema} FROM {role}"))
    finally:
        await db.dispose()
    log.info("granted the runtime role %s DML on Baken's tables", runtime_role)
