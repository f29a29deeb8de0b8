"""What a new password may not be (ASVS 6.2.4, 6.2.11, 6.2.12): too short or too long, one of the most
common passwords, or built on a word anyone who knows the helpline would try first.

Checked wherever a password is set: `baken counsellor add` and `reset-password` (a password the administrator
types) and the dashboard's password change. Never at sign-in: an existing password still signs in.

The common list (`common_passwords.txt`, beside this file) is Django's list of 19,640 common passwords, most
common first; it is read from the package, nothing is downloaded. It also stands for the breached-password
check (6.2.12): Baken assumes no network in production, so no online (k-anonymity) look-up is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from handover.credentials import MAX_PASSWORD, MIN_PASSWORD, WeakPassword

COMMON_LIST = Path(__file__).with_name("common_passwords.txt")
#: words refused inside any new password, whatever the case, spaces or punctuation around them (6.1.2):
#: the product, the kind of service, the people who use the dashboard, and its subject in the four languages.
#: `BAKEN_PASSWORD_WORDS` adds the organisation's own words (its name, its town); the counsellor's login name
#: and alias are added for each account.
CONTEXT_WORDS = (
    "baken", "helpline", "hulplijn", "hotline", "dashboard",
    "counsellor", "counselor", "consulent", "conseiller", "berater",
    "radicalisation", "radicalization", "radicalisering", "radikalisierung",
)
#: a name or word shorter than this is not checked: 'an' or 'jo' would refuse half the dictionary
MIN_WORD = 4
_NOT_LETTERS = re.compile(r"[\W_]+")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased; the header ends at the first empty line."""
    lines = COMMON_LIST.read_text(encoding="utf-8").splitlines()
    start = lines.index("") + 1
    return frozenset(line.strip().casefold() for line in lines[start:] if line.strip())


def _squashed(text: str) -> str:
    """'Ba-ken 2024' and 'baken2024' are the same word to a guesser: case, spaces and punctuation go."""
    return _NOT_LETTERS.sub("", text.casefold())


def context_words(*personal: str, extra: str = "") -> tuple[str, ...]:
    """The fixed words, the organisation's (comma-separated `extra`) and this counsellor's name and alias."""
    words = [*CONTEXT_WORDS, *extra.split(","), *personal]
    squashed = (_squashed(w) for w in words)
    return tuple(dict.fromkeys(w for w in squashed if len(w) >= MIN_WORD))


def check_new_password(password: str, words: Iterable[str] = CONTEXT_WORDS) -> None:
    """Raise WeakPassword with the reason ('short', 'long', 'common', 'context') when `password` may not be
    a new password; `words` as from `context_words`."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters", "short")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD} characters", "long")
    if password.casefold() in common_passwords() or password.strip().casefold() in common_passwords():
        raise WeakPassword("this password is among the most common ones: choose another", "common")
    squashed = _squashed(password)
    for word in words:
        if _squashed(word) and len(_squashed(word)) >= MIN_WORD and _squashed(word) in squashed:
            raise WeakPassword("a password may not contain the account's name, 'baken' or the helpline's "
                               "words: choose another", "context")
