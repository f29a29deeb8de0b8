"""Liveness and readiness, for a process manager and a load balancer.

`/healthz` says the process answers (restart it when it does not); it touches no database, so a database
outage does not make every process restart at once. `/readyz` says this process can serve now: the
database answers within a moment and its schema is the one this code expects (alembic's current revision
is the head, or a newer one this version does not know: a rolling upgrade ran `baken db upgrade` first,
and its migrations are written so that the old version keeps working). A proxy takes a process out of
rotation while it answers 503; the reason is short and names no person, host or password.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import alembic_config

log = logging.getLogger("baken.health")
#: a database slower than this to answer one query is not ready (locked, overloaded or gone)
READY_TIMEOUT = 2.0


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The migrations this code was shipped with (read once: they do not change while it runs)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def current_revisions(db: AsyncEngine) -> frozenset[str]:
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(r) for r in rows.scalars())


class Readiness:
    """One check in flight at a time. A query stuck behind a lock keeps running in the background (its
    connection cannot be cancelled mid-wait) and later probes wait on that same query, so a load balancer
    polling every second never piles up blocked connections."""

    def __init__(self, db: AsyncEngine, within: float = READY_TIMEOUT) -> None:
        self.db, self.within = db, within
        self._pending: asyncio.Task[frozenset[str]] | None = None

    async def reason(self) -> str | None:
        """None when ready, else a short reason fit for a public answer."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(current_revisions(self.db), name="baken-readiness")
        task = self._pending
        done, _ = await asyncio.wait({task}, timeout=self.within)
        if not done:
            log.warning("not ready: the database did not answer within %.1f s", self.within)
            return "database not answering"
        self._pending = None
        error = task.exception()
        if error is not None:  # unreachable, refused, dropped, no alembic_version table
            log.warning("not ready: the database failed (%s)", type(error).__name__)
            return "database unreachable"
        return verdict(task.result())

    async def close(self) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)


def verdict(current: frozenset[str]) -> str | None:
    """Whether a database at `current` suits this code."""
    heads = head_revisions()
    if current == heads:
        return None
    known = _known_revisions()
    if current and not current & known:
        # a newer version ran `baken db upgrade` first (expand/contract): this version keeps serving until
        # it is replaced, as the deployment guide's upgrade order expects
        _note_newer(current)
        return None
    log.warning("not ready: migrations behind (database %s, code %s)", sorted(current), sorted(heads))
    return "migrations behind: run `baken db upgrade`"


@lru_cache(maxsize=1)
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(rev.revision for rev in script.walk_revisions())


_noted: set[frozenset[str]] = set()


def _note_newer(current: frozenset[str]) -> None:
    if current not in _noted:
        _noted.add(current)
        log.warning("the database is at %s, newer than this version knows: serving on, as an upgrade "
                    "in progress expects", sorted(current))
