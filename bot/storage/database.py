"""The async engine: SQLite (WAL, one writer, BEGIN IMMEDIATE) by default, PostgreSQL through asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Errors never carry bound values into logs: those can be pseudonyms or encrypted text."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **kwargs)
        sqlite_pragmas(engine.sync_engine)
        return engine
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    discard_closed_connections(engine.sync_engine)
    return engine


def discard_closed_connections(engine: Engine) -> None:
    """A pooled connection the server closed (a restart, an idle timeout, pg_terminate_backend) is left out at
    checkout, at no cost. SQLAlchemy's `pool_pre_ping` does the same with BEGIN, a query and ROLLBACK: three
    round trips before every transaction, which measured 14 round trips per stored step instead of 10 with
    the database a few milliseconds away (bench/latency_scaling.py). A link cut without the server closing it
    (no FIN) is not seen here: that request fails once, and the connection is replaced."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        raw = getattr(dbapi_conn, "_connection", None)  # the asyncpg connection under SQLAlchemy's adapter
        if raw is not None and raw.is_closed():
            raise exc.DisconnectionError("the database closed this pooled connection")  # the pool takes another


def sqlite_pragmas(engine: Engine) -> None:
    """WAL, NORMAL sync, foreign keys, a long busy timeout, and BEGIN IMMEDIATE for every transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # every transaction reads then writes; take the write lock up front instead of failing on upgrade.
        # On the driver's cursor: through exec_driver_sql this one word cost as much as a whole statement
        # (SQLAlchemy's execution context), twice or three times per stored update.
        cur = conn.connection.dbapi_connection.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        finally:
            cur.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
