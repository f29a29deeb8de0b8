"""Interface strings through babel catalogs, one per language Baken speaks."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: tuple[str, ...] = ("nl", "fr", "de", "en")
DEFAULT_LOCALE = "nl"
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a string for extraction where it is declared as data; translate it later."""
    return message


def normalise_locale(code: str | None) -> str | None:
    """Map a channel's language code ('nl-BE', 'fr_FR', 'DE') to one of ours, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else None


def _po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalog(locale: str) -> bytes:
    """Compile a .po to .mo bytes; used when the compiled file is missing or older than its source."""
    with _po_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out = BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    po = _po_path(locale)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if po.exists():
        return gettext.GNUTranslations(BytesIO(compile_catalog(locale)))
    return gettext.NullTranslations()


def translator(locale: str) -> Translate:
    return translations(locale).gettext
