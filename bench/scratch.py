"""What several benches need around the process they measure: a port served until killed, a throwaway database.

Each bench runs Baken and a canned Bot API in processes of their own; these are the shared pieces, so every
bench sets them up (and cleans them up) the same way.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url


def serve_forever(app: web.Application, port: int, ready: Any, backlog: int = 128) -> None:
    """In a child process: serve `app` on 127.0.0.1:`port` (no access log), set `ready`, run until killed."""

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=backlog).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _plain(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


async def create_database(base_url: str, tag: str) -> str:
    """A new, empty PostgreSQL database on `base_url`'s server, named `<its database>_<tag>_<random>`."""
    import asyncpg

    base = make_url(base_url)
    name = f"{base.database}_{tag}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_plain(base))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return str(base.set(database=name).render_as_string(hide_password=False))


async def drop_database(url: str) -> None:
    """Drop `url`'s database (made by `create_database`), connected to the server's `postgres` database."""
    import asyncpg

    target = make_url(url)
    conn = await asyncpg.connect(_plain(target.set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    finally:
        await conn.close()
