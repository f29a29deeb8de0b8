"""What a session row and a ticket's profile hold once sealed, and how rows of the older format read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.crypto import DataKey
from bot.storage.models import Ticket
from bot.storage.repository import StoredSession


def seal_session(box: DataKey, session_id: str, state: str, data: dict[str, Any]) -> bytes:
    """The flow's state and data (with the language) sealed together: nothing of them stays plain."""
    return box.seal_json({"state": state, "data": data}, f"session:{session_id}")


def open_session(box: DataKey, session_id: str, row: StoredSession) -> tuple[str, dict[str, Any]]:
    """(state, data) of a stored session; a row of the older format keeps its state in the plain column."""
    value = box.open_json(row.data, f"session:{session_id}")
    if row.state:
        return row.state, value
    return str(value["state"]), value["data"]


@dataclass(frozen=True, slots=True)
class Profile:
    """What describes the person behind a ticket: sealed, shown to the counsellors who may see the ticket."""

    reasons: tuple[str, ...]
    role: str
    region: str | None
    goal: str


def profile_context(ticket_id: int) -> str:
    return f"profile:{ticket_id}"


def open_profile(box: DataKey, ticket_id: int, sealed: bytes | None, plain: Ticket | Any) -> Profile:
    """The sealed profile, or for a row of the older format its plain columns."""
    if sealed is None:
        return Profile(tuple(filter(None, (plain.reasons or "").split(","))), plain.role, plain.region, plain.goal)
    value = box.open_json(sealed, profile_context(ticket_id))
    return Profile(tuple(value["reasons"]), value["role"], value["region"], value["goal"])


def seal_profile(box: DataKey, ticket_id: int, profile: Profile) -> bytes:
    return box.seal_json({"reasons": list(profile.reasons), "role": profile.role, "region": profile.region,
                          "goal": profile.goal}, profile_context(ticket_id))
