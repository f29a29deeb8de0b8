"""Security events in the log: refused authorisations, sign-ins, forged or foreign requests (ASVS 16.3).

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


#: at most one `limit_hit` line per limit in this many seconds: a flood must not flood the log as well
LIMIT_LINE_EVERY = 60.0
_hits: dict[str, int] = {}
_last_line: dict[str, float] = {}


def limit_hit(limit: str, now: float | None = None) -> None:
    """An anti-automation limit refused or slowed something (ASVS 16.3.3). The first hit writes a line at once;
    later ones are counted and written with the next line, at most one a minute per limit."""
    at = time.monotonic() if now is None else now
    _hits[limit] = _hits.get(limit, 0) + 1
    last = _last_line.get(limit)
    if last is None or at - last >= LIMIT_LINE_EVERY:
        security_event("limit_hit", limit=limit, hits=_hits.pop(limit))
        _last_line[limit] = at
