"""`baken content check`: everything an editor can break, found before a person sees it.

It lives in the application layer because it checks content against what the flows use (triage topics).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml
from babel.messages.pofile import read_po

from content.coverage import coverage
from content.directory import CONTACTS_DIR, GAPS_FILE, LANGS, WORRY_TOPICS, Directory
from content.i18n import LOCALE_DIR, LOCALES
from content.library import ARTICLES_DIR, LEVELS, Library, LibraryError
from content.postcodes import Place, PostcodeIndex

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)
_FIELD = re.compile(r"\{(\w*)\}")
#: phone numbers as articles write them: short numbers (101, 1813, 116 000) and 0xx(x) numbers in groups
_NUMBER = re.compile(r"(?<![\w.,/])(?:116 000|1\d{2,3}|0\d{2,3}(?: \d{2,3}){2,3})(?![\w.,/])")
#: what the conversation adds after the person's own topics (flows.conversation.show_contacts)
GENERAL_TOPICS = ("parenting", "welfare", "listening", "radicalisation")
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
        problems += _referral_problems(directory, contacts_dir or CONTACTS_DIR)
        if library is not None:
            problems += _promised_number_problems(library, directory)
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


def _place_kinds() -> list[tuple[str, Place | None]]:
    """One place per kind of place a person can live in (community and region), plus no place at all."""
    kinds: dict[tuple[tuple[str, ...], str], Place] = {}
    for place in PostcodeIndex.load():
        kinds.setdefault((place.communities, place.region_key), place)
    return [("no place", None)] + [(f"{p.region_key} ({p.postcode} {p.name})", p) for p in kinds.values()]


def _known_gaps(contacts_dir: Path) -> set[tuple[str, str, str]]:
    """(topic, region or 'no place', language) left open on purpose, each with a reason in gaps.yaml."""
    path = (contacts_dir if contacts_dir.is_dir() else contacts_dir.parent) / GAPS_FILE
    if not path.exists():
        return set()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out: set[tuple[str, str, str]] = set()
    for entry in raw:
        if not str(entry.get("why") or "").strip():
            continue  # a gap without a reason is not accepted
        for where, langs in (entry.get("cases") or {}).items():
            out.update((str(entry["topic"]), str(where), str(lang)) for lang in langs)
    return out


def _referral_problems(directory: Directory, contacts_dir: Path) -> list[str]:
    """Every worry a rule can add reaches a fitting service for every place and language, and comes first.

    A contact may stand above one that fits the worry only for a reason in the data: it speaks the person's
    language and the fitting one does not.
    """
    from flows.triage import load_rules

    try:
        rule_topics = {topic for rule in load_rules().rules for topic in rule.topics}
    except Exception:  # reported by _triage_problems
        return []
    gaps = _known_gaps(contacts_dir)
    open_gaps: set[tuple[str, str, str]] = set()
    out: list[str] = []
    for topic in (worry for worry in WORRY_TOPICS if worry in rule_topics):
        for label, place in _place_kinds():
            where = place.region_key if place is not None else "no place"
            for lang in LANGS:
                found = directory.select(place=place, lang=lang, audience="parent", topics=[topic, *GENERAL_TOPICS])
                fitting = [i for i, c in enumerate(found) if topic in c.topics]
                if not fitting:
                    open_gaps.add((topic, where, lang))
                    if (topic, where, lang) not in gaps:
                        out.append(f"referrals: the worry {topic!r} reaches no fitting service in {lang} for {label} "
                                   f"(add one, or record the gap with a reason in {GAPS_FILE})")
                    continue
                best = found[fitting[0]]
                for above in found[: fitting[0]]:
                    if not (lang in above.languages and lang not in best.languages):
                        out.append(f"referrals: {above.id} comes before {best.id} for the worry {topic!r} in {lang} "
                                   f"for {label} without a reason in the data")
    out += [
        f"referrals: {GAPS_FILE} records no service for {topic!r} in {lang} for {where}, but one fits now: "
        "remove the gap"
        for topic, where, lang in sorted(gaps - open_gaps)
    ]
    return out


def _promised_number_problems(library: Library, directory: Directory) -> list[str]:
    """A number an article gives must be one the flow can show a reader of that language."""
    shown: dict[str, set[str]] = {}
    for contact in directory:
        if contact.phone:
            langs = set(LOCALES) if contact.scope == "national" else {*contact.languages, "en"}
            shown.setdefault(contact.phone, set()).update(langs)
    out: list[str] = []
    for lang in LOCALES:
        for article in library.in_language(lang):
            for number in _NUMBER.findall(article.body):
                if len(number) == 4 and number[:2] in ("19", "20"):
                    continue  # a year
                if lang not in shown.get(number, set()):
                    out.append(f"{article.path}: promises the number {number}, which Baken does not show to "
                               f"a reader in {lang}")
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
