"""The consent text and its version: a ticket may only rest on consent to the current text."""

from __future__ import annotations

import hashlib

from content.i18n import N_

CONSENT_TEXT = N_(
    "Who sees this: one trained Baken counsellor. Not the police, not your school or employer: "
    "nothing goes to anyone else without your explicit yes. They see only this summary and what you "
    "write next, never your name, number or account. It is kept until your conversation is closed and "
    "erased {days} days later at the latest; /forget erases it at once, and /stop withdraws your request. "
    "Only in serious, immediate danger to someone's life may a supervisor decide to call the emergency "
    "services."
)
RETENTION_DAYS = 30

#: changes whenever the English text changes, so old consent never covers a new text
CONSENT_VERSION = "c1-" + hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()[:12]
