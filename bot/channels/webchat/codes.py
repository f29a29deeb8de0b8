"""Reference codes: a short code, shown once, that lets a person continue the same chat on another device.

Twelve symbols from Crockford's base-32 alphabet carry 60 bits: at the rate limit of a few tries per address
per quarter hour, guessing any live code takes longer than the universe has left. Only a keyed hash of the
code is stored; the row is deleted when used, when the session is erased, or after the idle-session period.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.crypto import Keyring
from bot.storage import data_keys
from bot.storage.models import WebchatCode, utcnow

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 12
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
MAX_AGE = dt.timedelta(days=30)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalise(typed: str) -> str | None:
    """What a person typed, as the bare code; None when it cannot be one (no lookup is spent on it)."""
    bare = "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_LOOKALIKES)
    if len(bare) != LENGTH or any(ch not in ALPHABET for ch in bare):
        return None
    return bare


def code_hash(keys: Keyring, bare: str) -> str:
    return keys.pseudonym("webchat-code", bare)


def store_code(s: Session, keys: Keyring, session_id: str, token: str, code: str) -> None:
    """One live code per session: a new one replaces the old."""
    digest = code_hash(keys, normalise(code) or "")
    s.execute(delete(WebchatCode).where(col(WebchatCode.session_id) == session_id))
    box = keys.conversation(s, session_id)  # erased with the conversation, like the code's row
    s.add(WebchatCode(code_hash=digest, session_id=session_id, token=box.seal_text(token, f"webcode:{digest}")))


def redeem_code(s: Session, keys: Keyring, bare: str, now: dt.datetime | None = None) -> str | None:
    """The session token behind a code, once: the row goes as it is read."""
    digest = code_hash(keys, bare)
    row = s.execute(select(WebchatCode).where(col(WebchatCode.code_hash) == digest)).scalars().first()
    if row is None:
        return None
    s.execute(delete(WebchatCode).where(col(WebchatCode.code_hash) == digest))
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    if (now or utcnow()) - created > MAX_AGE:
        return None
    try:
        box = data_keys.obtain(s, keys, data_keys.session_key_id(row.session_id), create=False)
    except KeyError:
        return None  # the conversation was erased
    return box.open_text(row.token, f"webcode:{digest}")


def forget_codes(s: Session, session_id: str) -> None:
    s.execute(delete(WebchatCode).where(col(WebchatCode.session_id) == session_id))


def purge_codes(s: Session, now: dt.datetime) -> int:
    result = s.execute(delete(WebchatCode).where(col(WebchatCode.created_at) < now - MAX_AGE))
    return int(getattr(result, "rowcount", 0) or 0)
