"""At most REQUEST_LIMIT new counsellor requests per person in REQUEST_WINDOW: a prank flood cannot fill the
counsellors' queue, and the limit holds across restarts because each request leaves a mark in the database.

A mark holds a keyed hash of the session's pseudonym made for this purpose only, and the minute it was made;
the hourly purge deletes marks older than the window. /forget does not erase the marks (it would undo the
limit); they name no conversation and are gone after 48 hours.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.crypto import Keyring
from bot.storage.models import RequestMark
from flows.conversation import REQUEST_LIMIT

REQUEST_WINDOW = dt.timedelta(hours=48)
__all__ = ["REQUEST_LIMIT", "REQUEST_WINDOW", "count_recent", "mark_key", "mark_request", "purge_marks"]


def mark_key(keys: Keyring, session_id: str) -> str:
    """The session's pseudonym hashed again under a purpose of its own."""
    return keys.pseudonym("request-limit", session_id)


def count_recent(s: Session, key: str, now: dt.datetime) -> int:
    stmt = select(func.count()).select_from(RequestMark).where(
        col(RequestMark.key) == key, col(RequestMark.at) > now - REQUEST_WINDOW
    )
    return int(s.execute(stmt).scalar_one())


def mark_request(s: Session, key: str, now: dt.datetime) -> None:
    s.add(RequestMark(key=key, at=now.replace(second=0, microsecond=0)))


def purge_marks(s: Session, now: dt.datetime) -> int:
    """Marks older than the window count for nothing: deleted."""
    result = s.execute(delete(RequestMark).where(col(RequestMark.at) <= now - REQUEST_WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)
