"""Translation coverage per language, for `make messages` and the content check."""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po

from content.i18n import LOCALE_DIR, LOCALES


def coverage() -> dict[str, tuple[int, int, list[str]]]:
    """Per locale: (translated, total, untranslated or fuzzy msgids)."""
    out: dict[str, tuple[int, int, list[str]]] = {}
    for locale in LOCALES:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        missing = [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]
        total = sum(1 for m in catalog if m.id)
        out[locale] = (total - len(missing), total, missing)
    return out


def fill_english() -> None:
    """English msgids are the English text: copy them where the English catalog is still empty."""
    from babel.messages.pofile import write_po

    path = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for m in catalog:
        if m.id and not m.string:
            m.string = m.id
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100)


def main() -> int:
    if "--fill-en" in sys.argv:
        fill_english()
    ok = True
    for locale, (done, total, missing) in coverage().items():
        pct = 100.0 * done / total if total else 100.0
        print(f"{locale}: {done}/{total} translated ({pct:.1f}%)")
        ok = ok and not missing
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
