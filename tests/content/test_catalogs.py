"""Every interface string exists in nl, fr, de and en, with the same placeholders."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from content.coverage import coverage
from content.i18n import LOCALE_DIR, LOCALES, translator

FIELD = re.compile(r"\{(\w*)\}")


def _template_ids() -> set[str]:
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        return {str(m.id) for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_is_translated(locale: str) -> None:
    _done, total, missing = coverage()[locale]
    assert missing == [], f"{locale}: {len(missing)} untranslated, e.g. {missing[:3]}"
    assert total >= len(_template_ids())


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_holds_every_string_the_code_uses(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        ids = {str(m.id) for m in read_po(fh, locale=locale) if m.id}
    assert _template_ids() <= ids, "run `make messages` after adding strings"


@pytest.mark.parametrize("locale", ["nl", "fr", "de"])
def test_translations_keep_placeholders_and_differ_from_english(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    for m in catalog:
        if not m.id:
            continue
        assert sorted(FIELD.findall(str(m.id))) == sorted(FIELD.findall(str(m.string))), m.id


def test_the_running_code_reads_the_translations() -> None:
    assert translator("nl")("What brings you here?") != "What brings you here?"
    assert translator("fr")("Continue") != "Continue"
    assert translator("de")("Skip") != "Skip"


def test_the_template_holds_every_string_in_the_code() -> None:
    """A string added to the code but not extracted would reach people in English only."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir

    root = Path(__file__).parents[2]
    keywords = {"N_": None, "t": None}
    found: set[str] = set()
    for package in ("bot", "flows", "handover", "content"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / package, method_map=[("**.py", "python")], keywords=keywords
        ):
            if isinstance(message, str) and message:
                found.add(message)
    missing = found - _template_ids()
    assert not missing, f"run `make messages`: {sorted(missing)[:3]}"
