"""Security events in the log: refused authorisations, sign-ins, forged or foreign requests, limits hit,
stale or forged buttons, malformed chat frames (ASVS 16.3).

Each line is `security <event> key=value …` on the `baken.security` logger, with values from fixed
vocabularies only (an action, a role, a route pattern, a reason code): never a name, a typed text, a token, a
ticket number, an address or a pseudonym. Who did it is not in the line; the request id, which every line of a
web request carries, ties it to that request's access-log line, and the audit log names the counsellor for
what they did.
"""

from __future__ import annotations

import logging
import re
import time

log = logging.getLogger("baken.security")
_WORD = re.compile(r"[A-Za-z0-9_.:/{}-]{1,64}")


def _value(value: str | int) -> str:
    text = str(value)
    return text if _WORD.fullmatch(text) else "?"  # a value outside the vocabulary is never written


def security_event(event: str, level: int = logging.WARNING, **fields: str | int) -> None:
    """One line for one event; `fields` must come from fixed vocabularies (anything else is written `?`)."""
    detail = "".join(f" {key}={_value(value)}" for key, value in sorted(fields.items()))
    log.log(level, "security %s%s", _value(event), detail)


#: at most one line per kind of event in this many seconds: a flood must not flood the log as well
LIMIT_LINE_EVERY = 60.0
_hits: dict[str, int] = {}
_last_line: dict[str, float] = {}


def repeated_event(event: str, level: int = logging.WARNING, now: float | None = None, **fields: str) -> None:
    """An event anyone can cause at will (ASVS 16.3.3): the first writes a line at once; later ones with the
    same fields are counted and written, as `hits=N`, with the next line, at most one a minute."""
    at = time.monotonic() if now is None else now
    key = " ".join([event, *(f"{k}={_value(v)}" for k, v in sorted(fields.items()))])
    _hits[key] = _hits.get(key, 0) + 1
    last = _last_line.get(key)
    if last is None or at - last >= LIMIT_LINE_EVERY:
        security_event(event, level, hits=_hits.pop(key), **fields)
        _last_line[key] = at


def limit_hit(limit: str, now: float | None = None) -> None:
    """An anti-automation limit refused or slowed something: `security limit_hit hits=N limit=<limit>`."""
    repeated_event("limit_hit", now=now, limit=limit)


#: what a person's step may refuse (flows: Conversation.refused) → (event, fields, level)
_STEP_REFUSALS = {
    "stale_button": ("button_refused", "stale", logging.INFO),
    "forged_button": ("button_refused", "forged", logging.WARNING),
}


def step_refused(refused: str, channel: str) -> None:
    """A conversation step refused something: the cap of new counsellor requests (a limit hit), or a button
    that is stale (an earlier question's) or forged (data no question carries), on any channel."""
    if refused == "request_limit":
        limit_hit("counsellor_requests")
    elif refused in _STEP_REFUSALS:
        event, reason, level = _STEP_REFUSALS[refused]
        repeated_event(event, level, channel=channel, reason=reason)
