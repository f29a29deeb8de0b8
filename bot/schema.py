"""The schema at start and on `baken db upgrade`: migrate with a role that may, otherwise only check (ASVS 13.2.2).

With BAKEN_MIGRATION_DATABASE_URL the owner role migrates and then grants the runtime role (BAKEN_DATABASE_URL)
its rows. Without it, `serve` migrates only when its own role owns the schema (SQLite, or a development
PostgreSQL user that owns its database); a runtime role never tries DDL and refuses to start, saying what to
run, when the schema is not the one this code needs.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from bot.health import current_revisions, verdict
from bot.settings import Settings, StartProblem
from bot.storage.database import is_sqlite, make_engine
from bot.storage.migrate import upgrade
from bot.storage.privileges import grant_runtime, may_change_schema, role_of

log = logging.getLogger("baken.schema")


async def grant_if_split(settings: Settings) -> None:
    """When the server runs as another role than the owner, grant it DML on every table (after any change)."""
    runtime, owner = role_of(settings.db_url), role_of(settings.migration_url)
    if settings.migration_database_url and runtime and runtime != owner and not is_sqlite(settings.db_url):
        await grant_runtime(settings.migration_url, runtime)


async def migrate_and_grant(settings: Settings, revision: str = "head") -> None:
    """Migrate with the owner; then grant the runtime role its rows, new tables included."""
    await asyncio.to_thread(upgrade, settings.migration_url, revision)
    await grant_if_split(settings)


async def prepare_schema(settings: Settings) -> None:
    """Before serving: the schema brought to head by a role allowed to, or proven current, or a clear refusal."""
    if settings.migration_database_url:
        await migrate_and_grant(settings)
        return
    db = make_engine(settings.db_url)
    try:
        if await may_change_schema(db):
            await asyncio.to_thread(upgrade, settings.db_url)
            return
        try:
            reason = verdict(await current_revisions(db))
        except DBAPIError:  # no alembic_version table (or no right to read it): nothing migrated yet
            reason = "no schema yet"
    finally:
        await db.dispose()
    if reason is not None:
        raise StartProblem(
            f"the database schema is not current ({reason}) and the role of BAKEN_DATABASE_URL "
            f"({role_of(settings.db_url)}) may not change it, so Baken will not try: run `baken db upgrade` with "
            "BAKEN_MIGRATION_DATABASE_URL naming the owner role (docs/deploy.md, section 2), then start again.")
    log.info("schema current; the database role owns none of it, so no migration was tried")
