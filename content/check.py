"""`baken content check`: everything an editor can break, found before a person sees it."""

from __future__ import annotations

import datetime as dt

from content.coverage import coverage
from content.library import Library, LibraryError


def run_checks(*, stale_after_months: int, today: dt.date | None = None) -> list[str]:
    today = today or dt.date.today()
    problems: list[str] = []
    try:
        library = Library.load()
    except LibraryError as exc:
        problems.append(str(exc))
    else:
        problems += library.problems()
        if not library.ids:
            problems.append("no articles found")
    try:
        from content.directory import Directory

        directory = Directory.load()
    except Exception as exc:
        problems.append(f"contacts: {exc}")
    else:
        problems += [f"contacts: {p}" for p in directory.problems()]
        for c in directory.stale(months=stale_after_months, today=today):
            problems.append(
                f"contacts: {c.id} was last verified on {c.verified}, more than {stale_after_months} months ago"
            )
    for locale, (_done, _total, missing) in coverage().items():
        for msgid in missing:
            problems.append(f"catalog {locale}: untranslated {msgid[:60]!r}")
    problems += _placeholder_problems()
    return problems


def _placeholder_problems() -> list[str]:
    """A translation that drops or renames a {placeholder} would crash or mislead at run time."""
    import re

    from babel.messages.pofile import read_po

    from content.i18n import LOCALE_DIR, LOCALES

    field = re.compile(r"\{(\w*)\}")
    out: list[str] = []
    for locale in LOCALES:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for m in catalog:
            if m.id and m.string and sorted(field.findall(str(m.id))) != sorted(field.findall(str(m.string))):
                out.append(f"catalog {locale}: placeholders differ in {str(m.id)[:60]!r}")
    return out
