"""The database remembers its key's fingerprint, so a start with another key is refused, not obeyed."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.server_key import KeyProblem
from bot.storage.models import KeyFingerprint, utcnow


def _check_or_record(conn: Connection, fingerprint: str, database: str) -> None:
    # two processes starting on a new database race to record it: the first insert wins, both then compare
    conn.execute(
        text(
            "INSERT INTO key_fingerprint (id, fingerprint, created_at) VALUES (1, :fp, :now) "
            "ON CONFLICT (id) DO NOTHING"
        )
        .bindparams(bindparam("now", type_=KeyFingerprint.__table__.c.created_at.type)),  # type: ignore[attr-defined]
        {"fp": fingerprint, "now": utcnow()},
    )
    recorded = conn.execute(text("SELECT fingerprint FROM key_fingerprint WHERE id = 1")).scalar_one()
    if recorded != fingerprint:
        raise KeyProblem(
            f"the server key does not belong to the database {database} (the database expects key "
            f"fingerprint {recorded}, the key given has {fingerprint}). Restore the key this "
            f"database was made with: a different key cannot read what is stored and would orphan every "
            f"conversation."
        )


async def check_key(db: AsyncEngine, fingerprint: str, database: str) -> None:
    """Record the fingerprint on a new database; refuse a key that is not the database's own."""
    async with db.begin() as conn:
        await conn.run_sync(_check_or_record, fingerprint, database)


async def recorded_key(db: AsyncEngine) -> tuple[str, int]:
    """The fingerprint and master key version the database names."""
    async with db.connect() as conn:
        row = (await conn.execute(text("SELECT fingerprint, version FROM key_fingerprint WHERE id = 1"))).first()
    if row is None:
        raise KeyProblem("the database names no key yet")
    return str(row[0]), int(row[1])


def _holds_data(conn: Connection) -> bool:
    tables = set(inspect(conn).get_table_names())
    return any(
        table in tables and conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in ("key_fingerprint", "sessions")
    )


async def holds_data(db: AsyncEngine) -> bool:
    """Whether a database already belongs to some key: a fingerprint, or any stored session."""
    async with db.connect() as conn:
        return await conn.run_sync(_holds_data)
