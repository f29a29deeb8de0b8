"""The rules a new password must meet (ASVS 6.2.4, 6.2.11, 6.2.12 offline): length, the common list shipped
in the package, and the context words documented in handover/password_rules.py."""

from __future__ import annotations

import pytest

from handover.credentials import WeakPassword
from handover.password_rules import COMMON_LIST, CONTEXT_WORDS, check_new_password, common_passwords, context_words


def _reason(password: str, *personal: str, extra: str = "") -> str | None:
    try:
        check_new_password(password, context_words(*personal, extra=extra))
    except WeakPassword as weak:
        return weak.reason
    return None


def test_the_common_list_is_shipped_with_its_source_and_holds_the_3000_most_common() -> None:
    header = COMMON_LIST.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "Django" in header and "Royce Williams" in header and "BSD" in header, "its source and licence"
    common = common_passwords()
    assert len(common) >= 3000
    assert {"123456", "password", "qwerty", "iloveyou"} <= common
    assert not any(line.startswith("# ") for line in common), "the header is not read as passwords"


@pytest.mark.parametrize("password", ["qwerty123456", "QWERTY123456", "1qaz2wsx3edc", "q1w2e3r4t5y6"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    assert _reason(password) == "common"


@pytest.mark.parametrize(("password", "personal"), [
    ("Baken rocks every day", ()), ("my b-a-k-e-n pass 1", ()), ("the Hulplijn phone 42", ()),
    ("anna.peeters.1987!", ("anna.peeters", "Anna")), ("sophie likes mountains", ("s.dubois", "Sophie")),
])
def test_context_words_are_refused_inside_a_password(password: str, personal: tuple[str, ...]) -> None:
    assert _reason(password, *personal) == "context"


def test_the_organisations_own_words_are_refused_too() -> None:
    assert _reason("Stad Antwerpen 2026!", extra="Stad Antwerpen,Vormingplus") == "context"
    assert _reason("vormingplus is great", extra="Stad Antwerpen,Vormingplus") == "context"
    assert _reason("vormingplus is great") is None


def test_short_names_do_not_refuse_half_the_dictionary_and_good_passphrases_pass() -> None:
    assert "baken" in CONTEXT_WORDS
    assert _reason("a quiet river at dawn", "jo", "Jo") is None
    assert _reason("short") == "short" and _reason("x" * 257) == "long"
    assert _reason("correct horse battery staple", "anna", "Anna") is None
