"""`baken content check`: everything an editor can break, found before a person sees it.

It lives in the application layer because it checks content against what the flows use (triage topics).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from babel.messages.pofile import read_po

from content.coverage import coverage
from content.directory import Directory
from content.i18n import LOCALE_DIR, LOCALES
from content.library import ARTICLES_DIR, LEVELS, Library, LibraryError

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)
_FIELD = re.compile(r"\{(\w*)\}")
AUDIENCES = ("parent", "teacher", "worker", "all")


def run_checks(
    *,
    stale_after_months: int,
    today: dt.date | None = None,
    articles_dir: Path = ARTICLES_DIR,
    contacts_dir: Path | None = None,
) -> list[str]:
    """All problems, one line each, saying where and what; empty when the content can ship."""
    today = today or dt.date.today()
    problems: list[str] = []
    try:
        library = Library.load(articles_dir)
    except LibraryError as exc:
        problems.append(str(exc))
        library = None
    if library is not None:
        problems += library.problems()
        problems += _link_problems(library)
        problems += _reach_problems(library)
    try:
        directory: Directory | None = Directory.load(contacts_dir)
    except Exception as exc:  # any load error is a content problem to report
        problems.append(f"contacts: {exc}")
        directory = None
    if directory is not None:
        problems += _contact_problems(directory, stale_after_months, today)
    problems += _triage_problems(library, directory)
    for locale, (_done, _total, missing) in coverage().items():
        problems += [f"catalog {locale}: untranslated {msgid[:60]!r}" for msgid in missing]
    problems += _placeholder_problems()
    return problems


def _link_problems(library: Library) -> list[str]:
    """Links in articles must be complete https addresses: a person cannot fix a broken one."""
    out: list[str] = []
    for lang in LOCALES:
        for article in library.in_language(lang):
            for _text, url in _LINK.findall(article.body):
                if not _URL.match(url):
                    out.append(f"{article.path}: link {url!r} is not a complete https address")
    return out


def _reach_problems(library: Library) -> list[str]:
    """Every reader, at every level, must be offered at least one article (no path ends empty)."""
    out: list[str] = []
    for lang in LOCALES:
        for audience in AUDIENCES:
            for level in LEVELS:
                if not library.pick(lang=lang, audience=audience, topics=(), level=level):
                    out.append(f"articles: nothing to offer a {audience} at level {level} in {lang}")
        if library.by_topic("trust", lang) is None:
            out.append(f"articles: no article on the topic 'trust' in {lang} (the privacy page)")
    return out


def _contact_problems(directory: Directory, months: int, today: dt.date) -> list[str]:
    out = [f"contacts: {p}" for p in directory.problems()]
    out += [
        f"contacts: {c.id} was last reviewed on {c.reviewed}, more than {months} months ago; compare it with its "
        "sources and update `reviewed`"
        for c in directory.stale(months=months, today=today)
    ]
    return out


def _triage_problems(library: Library | None, directory: Directory | None) -> list[str]:
    """Every topic a triage rule adds must lead to an article or a contact."""
    from flows.triage import load_rules

    out: list[str] = []
    try:
        rules = load_rules().rules
    except Exception as exc:  # an unreadable rules file is reported, not raised
        return [f"triage rules: {exc}"]
    article_topics = {topic for a in library.in_language("en") for topic in a.topics} if library else set()
    contact_topics = {topic for c in directory for topic in c.topics} if directory else set()
    for rule in rules:
        for topic in rule.topics:
            if topic not in article_topics and topic not in contact_topics:
                out.append(f"triage rule {rule.id}: topic {topic!r} has no article and no contact")
    return out


def _placeholder_problems() -> list[str]:
    """A translation that drops or renames a {placeholder} would crash or mislead at run time."""
    out: list[str] = []
    for locale in LOCALES:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for m in catalog:
            if m.id and m.string and sorted(_FIELD.findall(str(m.id))) != sorted(_FIELD.findall(str(m.string))):
                out.append(f"catalog {locale}: placeholders differ in {str(m.id)[:60]!r}")
    return out
