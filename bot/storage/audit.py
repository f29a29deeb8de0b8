"""The audit log as a hash chain: each entry's digest covers the one before it, so an edit or a deletion
anywhere breaks every digest after it. Entries name who, what and which ticket, with structured details
(`key=value` fields, never free text: a counsellor's reasons stay with the ticket, encrypted). Entries older
than the audit retention are purged from the start of the chain; the chain is checked from the oldest kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.storage.models import AuditEntry, utcnow

GENESIS = "0" * 64


def _utc_text(moment: dt.datetime) -> str:
    """SQLite hands back naive UTC, PostgreSQL aware: hash one spelling of the same instant."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def digest_of(prev: str, at: dt.datetime, actor: str, action: str, ticket_id: int | None, detail: str) -> str:
    fields = (prev, _utc_text(at), actor, action, "" if ticket_id is None else str(ticket_id), detail)
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


_FIELD = re.compile(r"^[a-z_]+=[^\s;]{1,200}$")
_SPACES = re.compile(r"[\s;]+")


def fields(**values: object) -> str:
    """Structured details: `key=value` pairs (no spaces inside a value); what `append` accepts."""
    return " ".join(f"{k}={_SPACES.sub('_', str(v))[:200]}" for k, v in values.items() if v is not None)


def append(s: Session, actor: str, action: str, ticket_id: int | None = None, detail: str = "") -> AuditEntry:
    """Add one entry at the end of the chain, inside the caller's transaction. `detail` must be `fields(...)`:
    free text is refused, so no reason or message can end up in this long-kept log."""
    if detail and not all(_FIELD.match(part) for part in detail.split(" ")):
        raise ValueError("audit details are key=value fields, never free text")
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        # one appender at a time, or two could chain onto the same predecessor
        s.execute(text("SELECT pg_advisory_xact_lock(1301)"))
    last = s.execute(select(col(AuditEntry.digest)).order_by(col(AuditEntry.id).desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = utcnow()
    entry = AuditEntry(at=at, actor=actor, action=action, ticket_id=ticket_id, detail=detail[:2000], prev=prev,
                       digest=digest_of(prev, at, actor, action, ticket_id, detail[:2000]))
    s.add(entry)
    s.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_at: int | None = None  # the first entry id whose digest or link does not hold


def verify(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Each entry links to the one before; the oldest kept may link to one the retention purge removed."""
    prev: str | None = None
    n = 0
    for e in entries:
        n += 1
        if prev is None:
            prev = e.prev if e.id != 1 else GENESIS
        if e.prev != prev or e.digest != digest_of(e.prev, e.at, e.actor, e.action, e.ticket_id, e.detail):
            return ChainCheck(False, n, e.id)
        prev = e.digest
    return ChainCheck(True, n)


def purge(s: Session, before: dt.datetime) -> int:
    """Entries older than `before` go (the audit retention): from the start of the chain only."""
    result = s.execute(delete(AuditEntry).where(col(AuditEntry.at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


def verify_all(s: Session) -> ChainCheck:
    return verify(s.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars())


def recent(s: Session, limit: int = 200, ticket_id: int | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if ticket_id is not None:
        stmt = stmt.where(col(AuditEntry.ticket_id) == ticket_id)
    return list(s.execute(stmt).scalars())
