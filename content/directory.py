"""The referral directory: which services to show a person, for their place, language, role and worry.

Contacts are YAML files under `contacts/` (see content/README.md), each entry resting on
`../shared/facts/contacts-checked.md`. Loading refuses only what cannot be read at all; everything an
editor can get subtly wrong (a missing translation, an unknown topic, a number in the wrong community)
is reported by `Directory.problems()` for `baken content check`.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from content.postcodes import Place, PostcodeIndex
from content.yaml_loader import load_yaml

CONTACTS_DIR = Path(__file__).parent / "contacts"
LABELS_FILE = "labels.yaml"
GAPS_FILE = "gaps.yaml"

LANGS: tuple[str, ...] = ("nl", "fr", "de", "en")
COMMUNITY_LANGS: tuple[str, ...] = ("nl", "fr", "de")
SCOPES: tuple[str, ...] = ("local", "community", "regional", "national")
REGIONS: tuple[str, ...] = ("flanders", "wallonia", "brussels", "east-belgium")
AUDIENCES: tuple[str, ...] = ("parent", "teacher", "worker", "young", "all")
CONFIDENCE: tuple[str, ...] = ("confirmed", "one-source", "not-found")
ARTICLE_TOPICS = frozenset(
    """basics signals adolescence dialogue online urgent selfcare siblings news faith departure return
    classroom polarisation school secrecy case-consultation referral other-worries drugs self-harm bullying
    violence-home gangs trust""".split()
)
CONTACT_TOPICS = frozenset(
    "emergency listening suicide youth parenting radicalisation abuse missing welfare".split()
)
TOPICS = ARTICLE_TOPICS | CONTACT_TOPICS

REQUIRED_KEYS: tuple[str, ...] = (
    "id", "scope", "communities", "regions", "municipalities", "name", "phone", "website", "email", "chat",
    "hours", "languages", "audience", "topics", "description", "when", "sources", "reviewed", "confirmed",
    "confidence", "first_line",
)
OPTIONAL_KEYS: tuple[str, ...] = ("free", "seen", "leads_for")
LABEL_KEYS: tuple[str, ...] = (
    "phone", "free_call", "website", "email", "chat", "chat_on_website", "hours", "hours_unknown",
    "hours_unknown_no_website", "languages", "and", "lang_nl", "lang_fr", "lang_de", "lang_en", "one_source",
    "stale_warning", "stale_warning_no_website", "old_sources", "local", "regional", "national",
    "emergency",
)

#: short numbers and lines that belong to one language community; public lists often mix them up
#: (1813 is the Dutch-language suicide line, 0800 32 123 the French-language one)
COMMUNITY_NUMBERS: dict[str, str] = {
    "1813": "nl", "106": "nl", "102": "nl", "1712": "nl", "078 15 00 10": "nl",
    "0800 32 123": "fr", "107": "fr", "103": "fr", "0800 111 72": "fr",
    "108": "de",
}

#: topics that name one specific worry (what was ticked or what the free-text screen found), most pressing
#: first: a service for that worry comes before general help and before the radicalisation services
WORRY_TOPICS: tuple[str, ...] = (
    "suicide", "self-harm", "missing", "abuse", "violence-home", "drugs", "bullying", "gangs", "departure",
    "return",
)
#: topics that point at the radicalisation worry itself: where a person brings these, the specialised service
#: fits and is kept in the list (after the ordinary help); otherwise it only comes when room is left
RADICALISATION_TOPICS = frozenset(
    "radicalisation signals online polarisation departure return case-consultation news".split()
)
#: the year before which a service counts as "seen only long ago" and carries a caveat when shown
OLD_SOURCE_YEAR = 2020

_TIER = {"local": 0, "community": 1, "regional": 1, "national": 2}
_SECTION = {"local": "local", "community": "regional", "regional": "regional", "national": "national"}
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:[/?#]\S*)?")
_PHONE = re.compile(r"(?:\+32 )?\d+(?: \d+)*")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_BABEL_LOCALE = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_GB"}


class DirectoryError(ValueError):
    """A contacts file that cannot be read as a directory; the message names file, entry and problem."""


@dataclass(frozen=True, slots=True)
class Text:
    """One short text in Baken's four languages."""

    nl: str = ""
    fr: str = ""
    de: str = ""
    en: str = ""

    def get(self, lang: str) -> str:
        """The text in `lang`, else English, else the first language that has it."""
        for code in (lang, "en", "nl", "fr", "de"):
            if code in LANGS and getattr(self, code):
                return str(getattr(self, code))
        return ""

    def missing(self) -> list[str]:
        return [lang for lang in LANGS if not str(getattr(self, lang)).strip()]


@dataclass(frozen=True)
class Contact:
    """One service a person can be sent to, as an editor wrote it in a contacts file."""

    id: str
    scope: str
    communities: tuple[str, ...]
    regions: tuple[str, ...]
    municipalities: tuple[str, ...]
    name: Text
    phone: str | None
    website: str | None
    email: str | None
    chat: str | None
    hours: Text | None
    languages: tuple[str, ...]
    audience: tuple[str, ...]
    topics: tuple[str, ...]
    description: Text
    when: Text
    sources: tuple[str, ...]
    reviewed: dt.date
    confirmed: dt.date | None
    confidence: str
    first_line: bool
    free: bool | None = None
    seen: str | None = None
    leads_for: tuple[str, ...] = ()
    file: str = field(default="", compare=False)

    def name_for(self, lang: str) -> str:
        return self.name.get(lang)

    def description_for(self, lang: str) -> str:
        return self.description.get(lang)

    def when_for(self, lang: str) -> str:
        return self.when.get(lang)

    def hours_for(self, lang: str) -> str | None:
        """Opening hours, only where the checked list gives them as current; None means "see the website"."""
        return self.hours.get(lang) if self.hours is not None else None

    @property
    def tier(self) -> int:
        """0 local, 1 community or regional, 2 national: the order a person reads them in."""
        return _TIER.get(self.scope, 1)

    @property
    def section(self) -> str:
        """The heading the contact goes under: local, regional or national (a key in labels.yaml)."""
        return _SECTION.get(self.scope, "regional")

    @property
    def has_channel(self) -> bool:
        return any((self.phone, self.website, self.email, self.chat))

    def serves(self, audience: str) -> bool:
        """Whether someone in this role may be sent here; 'all' (role unknown) gets what the public gets."""
        if audience == "all":
            return "all" in self.audience or "parent" in self.audience
        return "all" in self.audience or audience in self.audience

    @property
    def specialised_in_radicalisation(self) -> bool:
        """A radicalisation service that is not ordinary first-line help: never first by default."""
        return "radicalisation" in self.topics and not self.first_line

    @property
    def seen_only_before_2020(self) -> bool:
        """True when every date its sources show is older than 2020: it may have changed or closed."""
        years = [int(y) for y in re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", self.seen or "")]
        return bool(years) and max(years) < OLD_SOURCE_YEAR

    def is_stale(self, *, months: int, today: dt.date) -> bool:
        """Last compared with its sources more than `months` ago."""
        return self.reviewed < months_before(today, months)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (clamped to the month's end)."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))


# ---- labels


class Labels:
    """The few words used to show a contact, per language, from labels.yaml."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], file: str = LABELS_FILE) -> None:
        self._texts = {key: dict(value) for key, value in texts.items()}
        self.file = file

    @classmethod
    def load(cls, path: Path | None = None) -> Labels:
        path = path or CONTACTS_DIR / LABELS_FILE
        if path == CONTACTS_DIR / LABELS_FILE:
            return _default_labels()
        return cls._read(path)

    @classmethod
    def _read(cls, path: Path) -> Labels:
        raw = _read_yaml(path)
        if not isinstance(raw, dict):
            raise DirectoryError(f"{path.name}: expected a mapping of label → {{nl, fr, de, en}}")
        texts: dict[str, dict[str, str]] = {}
        for key, value in raw.items():
            if not isinstance(value, dict):
                raise DirectoryError(f"{path.name}: {key}: expected {{nl, fr, de, en}}")
            texts[str(key)] = {str(k): str(v) for k, v in value.items() if v is not None}
        return cls(texts, path.name)

    def text(self, key: str, lang: str, **values: str) -> str:
        """The label in `lang` (else English) with its placeholders filled in."""
        entry = self._texts.get(key, {})
        template = entry.get(lang) or entry.get("en") or key
        return template.format(**values) if values else template

    def problems(self) -> list[str]:
        out: list[str] = []
        for key in LABEL_KEYS:
            entry = self._texts.get(key)
            if entry is None:
                out.append(f"{self.file}: label {key!r} is missing")
                continue
            missing = [lang for lang in LANGS if not entry.get(lang, "").strip()]
            if missing:
                out.append(f"{self.file}: label {key!r} has no {', '.join(missing)} text")
            wanted = sorted(_PLACEHOLDER.findall(entry.get("en", "")))
            for lang in LANGS:
                if lang in entry and sorted(_PLACEHOLDER.findall(entry[lang])) != wanted:
                    out.append(f"{self.file}: label {key!r} ({lang}) has other {{placeholders}} than English")
        return out


@lru_cache(maxsize=1)
def _default_labels() -> Labels:
    return Labels._read(CONTACTS_DIR / LABELS_FILE)


# ---- loading


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DirectoryError(f"{path.name}: cannot be read ({exc})") from exc


def _text(value: Any, where: str, key: str) -> Text:
    if not isinstance(value, dict):
        raise DirectoryError(f"{where}: {key} must be a mapping {{nl, fr, de, en}}")
    return Text(**{lang: "" if value.get(lang) is None else str(value[lang]).strip() for lang in LANGS})


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise DirectoryError(f"{where}: {key} must be a list")
    return tuple(str(v) for v in value)


def _optional(value: Any, where: str, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        raise DirectoryError(f"{where}: {key} must be text or null")
    return str(value).strip() or None


def _date(value: Any, where: str, key: str) -> dt.date | None:
    """A YAML date (or an ISO string) or null; anything else is refused with the key's name."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise DirectoryError(f"{where}: {key} must be a date (YYYY-MM-DD)") from exc
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise DirectoryError(f"{where}: {key} must be a date (YYYY-MM-DD)")
    return value


def parse_contact(raw: Any, file: str, position: int) -> tuple[Contact, list[str]]:
    """One YAML entry as a Contact, plus notes about keys the schema does not know."""
    where = f"{file}: entry {position}"
    if not isinstance(raw, dict):
        raise DirectoryError(f"{where}: is not a mapping")
    contact_id = raw.get("id")
    if not isinstance(contact_id, str) or not contact_id.strip():
        raise DirectoryError(f"{where}: has no id")
    where = f"{file}: {contact_id}"
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise DirectoryError(f"{where}: missing {', '.join(missing)}")
    notes = [f"{where}: unknown key {key!r}" for key in raw if key not in REQUIRED_KEYS + OPTIONAL_KEYS]
    reviewed = _date(raw["reviewed"], where, "reviewed")
    if reviewed is None:
        raise DirectoryError(f"{where}: reviewed must be a date (YYYY-MM-DD)")
    confirmed = _date(raw["confirmed"], where, "confirmed")
    if not isinstance(raw["first_line"], bool):
        raise DirectoryError(f"{where}: first_line must be true or false")
    free = raw.get("free")
    if free is not None and not isinstance(free, bool):
        raise DirectoryError(f"{where}: free must be true, false or null")
    contact = Contact(
        id=contact_id.strip(),
        scope=str(raw["scope"]),
        communities=_strings(raw["communities"], where, "communities"),
        regions=_strings(raw["regions"], where, "regions"),
        municipalities=_strings(raw["municipalities"], where, "municipalities"),
        name=_text(raw["name"], where, "name"),
        phone=_optional(raw["phone"], where, "phone"),
        website=_optional(raw["website"], where, "website"),
        email=_optional(raw["email"], where, "email"),
        chat=_optional(raw["chat"], where, "chat"),
        hours=None if raw["hours"] is None else _text(raw["hours"], where, "hours"),
        languages=_strings(raw["languages"], where, "languages"),
        audience=_strings(raw["audience"], where, "audience"),
        topics=_strings(raw["topics"], where, "topics"),
        description=_text(raw["description"], where, "description"),
        when=_text(raw["when"], where, "when"),
        sources=_strings(raw["sources"], where, "sources"),
        reviewed=reviewed,
        confirmed=confirmed,
        confidence=str(raw["confidence"]),
        first_line=raw["first_line"],
        free=free,
        seen=_optional(raw.get("seen"), where, "seen"),
        leads_for=_strings(raw.get("leads_for"), where, "leads_for"),
        file=file,
    )
    return contact, notes


def _contact_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DirectoryError(f"{path}: no such contacts directory")
    return sorted(p for p in path.glob("*.yaml") if p.name not in (LABELS_FILE, GAPS_FILE))


# ---- the directory


class Directory:
    """All contacts, with the queries the conversation needs: fitting services, emergency lines, stale ones."""

    def __init__(
        self,
        contacts: Sequence[Contact],
        *,
        labels: Labels | None = None,
        postcodes: PostcodeIndex | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        self._contacts = tuple(contacts)
        self._by_id: dict[str, Contact] = {}
        for contact in self._contacts:
            self._by_id.setdefault(contact.id, contact)
        self._labels = labels
        self._postcodes = postcodes
        self._notes = list(notes)

    @classmethod
    def load(cls, path: Path | None = None, *, postcodes: PostcodeIndex | None = None) -> Directory:
        """Read every contacts file of a directory (or one file); DirectoryError names what is unreadable."""
        path = path or CONTACTS_DIR
        contacts: list[Contact] = []
        notes: list[str] = []
        for file in _contact_files(path):
            raw = _read_yaml(file)
            if raw is None:
                continue
            if not isinstance(raw, list):
                raise DirectoryError(f"{file.name}: expected a list of contacts")
            for position, entry in enumerate(raw, start=1):
                contact, entry_notes = parse_contact(entry, file.name, position)
                contacts.append(contact)
                notes.extend(entry_notes)
        labels_path = (path if path.is_dir() else path.parent) / LABELS_FILE
        labels = Labels.load(labels_path) if labels_path.exists() else Labels.load()
        return cls(contacts, labels=labels, postcodes=postcodes, notes=notes)

    # ---- plain access
    def __iter__(self) -> Iterator[Contact]:
        return iter(self._contacts)

    def __len__(self) -> int:
        return len(self._contacts)

    @property
    def labels(self) -> Labels:
        return self._labels or Labels.load()

    def get(self, contact_id: str) -> Contact:
        """The contact with this id; KeyError names it when there is none."""
        try:
            return self._by_id[contact_id]
        except KeyError:
            raise KeyError(f"no contact {contact_id!r}") from None

    # ---- queries
    def select(
        self, *, place: Place | None, lang: str, audience: str, topics: Iterable[str], limit: int = 6
    ) -> list[Contact]:
        """The services that fit, best first ("ordinary help first", design §9).

        Groups, in this order: services for a specific worry the person brought (WORRY_TOPICS, most
        pressing first), then ordinary help for the other topics, then the specialised radicalisation
        services. Within a group: the person's language first, then local → community/regional → national,
        then first-line before specialised. Where a radicalisation topic was asked, the best specialised
        service stays in the list (last if need be): it fits, but never comes first by default.

        The community follows the place; where the person's language is not the place's (facility
        municipalities, Brussels, anyone choosing another language), the community-wide lines of their
        language are added, and at least one service in their language is always offered when one exists.
        Without a place the community follows the language (English: the community-wide lines of all
        three). If nothing fits the topics, the general listening lines come back instead.
        """
        wanted = list(dict.fromkeys(topics))
        found = self._fitting(place, lang, audience, wanted)
        if not found and wanted != ["listening"]:
            found = self._fitting(place, lang, audience, ["listening"])
        limit = max(limit, 0)
        chosen = found[:limit]
        if not limit:
            return chosen
        if RADICALISATION_TOPICS & set(wanted) and not any(c.specialised_in_radicalisation for c in chosen):
            extra = next((c for c in found[limit:] if c.specialised_in_radicalisation), None)
            if extra is not None:
                chosen = [*chosen[: limit - 1], extra]
        if not any(lang in c.languages for c in chosen):
            own = [c for c in found if lang in c.languages]
            if not own and wanted != ["listening"]:
                own = [c for c in self._fitting(place, lang, audience, ["listening"]) if lang in c.languages]
            if own:  # last, so that the services for the person's worry keep their places
                chosen = [*chosen[: limit - 1], own[0]]
        return chosen

    def _fitting(self, place: Place | None, lang: str, audience: str, wanted: list[str]) -> list[Contact]:
        rank = {topic: i for i, topic in enumerate(wanted)}
        worries = [topic for topic in WORRY_TOPICS if topic in rank]
        communities, region, community_wide_only = _reach(place, lang)
        scored: list[tuple[tuple[int, ...], Contact]] = []
        for index, contact in enumerate(self._contacts):
            if "emergency" in contact.topics and "emergency" not in rank:
                continue
            if not contact.serves(audience):
                continue
            hits = [rank[topic] for topic in contact.topics if topic in rank]
            if wanted and not hits:
                continue
            if not _reaches(contact, place, lang, communities, region, community_wide_only):
                continue
            other_language = 0 if lang in contact.languages else 1
            specialised = 0 if contact.first_line else 1
            worry = [i for i, topic in enumerate(worries) if topic in contact.topics]
            if worry:
                key: tuple[int, ...] = (0, min(worry), other_language, specialised, contact.tier, index)
            elif contact.specialised_in_radicalisation:
                key = (2, other_language, contact.tier, min(hits, default=0), index, 0)
            else:
                key = (1, other_language, contact.tier, specialised, min(hits, default=0), index)
            scored.append((key, contact))
        scored.sort(key=lambda item: item[0])
        return [contact for _, contact in scored]

    def emergency(
        self, *, place: Place | None, lang: str, self_harm: bool = False, young: bool = False
    ) -> list[Contact]:
        """112 and 101 first; then, if asked, the suicide line and the youth line of the person's language.

        The person's own language comes first (a French speaker in Flanders gets 0800 32 123), then the
        language community of the place; without either (English, no place) the lines of all three.
        """
        out = sorted(
            (c for c in self._contacts if "emergency" in c.topics and c.scope == "national" and c.phone),
            key=lambda c: (c.phone != "112", c.phone != "101"),
        )
        langs = _line_languages(place, lang)
        if self_harm:
            out += self._line_per_language(langs, lambda c: "suicide" in c.topics)
        if young:
            out += self._line_per_language(
                langs, lambda c: "youth" in c.topics and ("young" in c.audience or "all" in c.audience)
            )
        unique: list[Contact] = []
        for contact in out:
            if contact not in unique:
                unique.append(contact)
        return unique

    def language_lines(self, *, place: Place | None, lang: str, topic: str) -> list[Contact]:
        """Per language (as in `emergency`), the first community line with a phone for `topic`:
        "listening" gives the crisis line (106, 107, 108), "radicalisation" the community's advice line."""
        return self._line_per_language(_line_languages(place, lang), lambda c: topic in c.topics)

    def _line_per_language(self, langs: Sequence[str], fits: Callable[[Contact], bool]) -> list[Contact]:
        """Per language, the first community line with a phone that `fits` (file order decides)."""
        out: list[Contact] = []
        for lang in langs:
            for contact in self._contacts:
                if (
                    contact.phone
                    and contact.scope in ("community", "regional")
                    and lang in contact.communities
                    and lang in contact.languages
                    and fits(contact)
                ):
                    out.append(contact)
                    break
        return out

    def unconfirmed(self) -> list[Contact]:
        """Contacts no person has yet confirmed with the service itself (`confirmed` is empty)."""
        return [c for c in self._contacts if c.confirmed is None]

    def stale(self, *, months: int, today: dt.date) -> list[Contact]:
        """Contacts last reviewed more than `months` ago: due for a new comparison with their sources."""
        return [c for c in self._contacts if c.is_stale(months=months, today=today)]

    # ---- checks
    def problems(self) -> list[str]:
        """Everything an editor should fix before publishing; empty when the data is sound."""
        postcodes = self._postcodes or PostcodeIndex.load()
        municipalities = postcodes.municipalities
        out = list(self._notes)
        seen: dict[str, str] = {}
        for contact in self._contacts:
            where = f"{contact.file}: {contact.id}"
            if contact.id in seen:
                out.append(f"{where}: duplicate id (also in {seen[contact.id]})")
            else:
                seen[contact.id] = contact.file
            out += [f"{where}: {problem}" for problem in contact_problems(contact, municipalities)]
        out += self._coverage_problems()
        out += self.labels.problems()
        return out

    def _coverage_problems(self) -> list[str]:
        """The lines a person in danger must always get must exist for every language community."""
        out: list[str] = []
        phones = {c.phone for c in self._contacts if "emergency" in c.topics and c.scope == "national"}
        for number in ("112", "101"):
            if number not in phones:
                out.append(f"directory: no national emergency contact with phone {number}")
        for lang in COMMUNITY_LANGS:
            if not self._line_per_language([lang], lambda c: "suicide" in c.topics):
                out.append(f"directory: no suicide line with a phone for the {lang} community")
            if not self._line_per_language([lang], lambda c: "youth" in c.topics):
                out.append(f"directory: no youth line with a phone for the {lang} community")
        return out


def _reach(place: Place | None, lang: str) -> tuple[frozenset[str], str | None, bool]:
    """Which communities and region a person can be sent to, and whether only community-wide lines fit."""
    if place is not None:
        return frozenset(place.communities), place.region_key, False
    if lang in COMMUNITY_LANGS:
        return frozenset({lang}), None, False
    return frozenset(COMMUNITY_LANGS), None, True


def _reaches(
    contact: Contact,
    place: Place | None,
    lang: str,
    communities: frozenset[str],
    region: str | None,
    community_wide_only: bool,
) -> bool:
    if contact.scope == "national":
        # an English-only line only for those who chose English
        return bool(set(contact.languages) & {*COMMUNITY_LANGS, lang})
    if contact.scope == "local":
        return place is not None and place.municipality in contact.municipalities
    if (
        contact.scope == "community"
        and lang in contact.communities
        and lang in contact.languages
        and lang not in communities
        and (region is None or region in contact.regions or contact.phone or contact.chat)
    ):
        # the lines of the person's own language community, wherever they live (Voeren, Comines, Brussels…);
        # services bound to their own region only where the place lies in it
        return True
    if community_wide_only and contact.scope != "community":
        return False
    if not communities.intersection(contact.communities):
        return False
    return region is None or region in contact.regions


def _line_languages(place: Place | None, lang: str) -> list[str]:
    langs = [lang] if lang in COMMUNITY_LANGS else []
    if place is not None:
        langs += [c for c in place.communities if c not in langs]
    if not langs:
        langs = list(COMMUNITY_LANGS)
    return langs


def _phone_problem(phone: str) -> str | None:
    if not _PHONE.fullmatch(phone):
        return f"phone {phone!r} is not written as digits in groups (e.g. '078 15 00 10', '+32 471 91 94 90')"
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+32 "):
        ok = 8 <= len(digits) - 2 <= 9 and not digits[2:].startswith("0")
    elif phone.startswith("0"):
        ok = len(digits) in (9, 10)
    else:
        ok = 3 <= len(digits) <= 6 and digits.startswith("1")
    return None if ok else f"phone {phone!r} has the wrong number of digits for a Belgian number"


def contact_problems(contact: Contact, municipalities: frozenset[str]) -> list[str]:
    """What is wrong with one contact, in words an editor can act on."""
    out: list[str] = []
    c = contact
    if not _ID.fullmatch(c.id):
        out.append("id must be kebab-case (lower-case letters, digits and hyphens)")
    if c.scope not in SCOPES:
        out.append(f"unknown scope {c.scope!r} (use {', '.join(SCOPES)})")
    for key, values, allowed in (
        ("communities", c.communities, COMMUNITY_LANGS),
        ("regions", c.regions, REGIONS),
        ("languages", c.languages, LANGS),
        ("audience", c.audience, AUDIENCES),
    ):
        if not values:
            out.append(f"{key} is empty")
        out += [f"unknown {key[:-1] if key != 'audience' else key} {v!r}" for v in values if v not in allowed]
    if not c.topics:
        out.append("topics is empty")
    out += [f"unknown topic {topic!r}" for topic in c.topics if topic not in TOPICS]
    if c.scope == "national" and (
        set(c.communities) != set(COMMUNITY_LANGS) or set(c.regions) != set(REGIONS)
    ):
        out.append("a national contact serves all communities (nl, fr, de) and all four regions")
    if c.scope == "local":
        if not c.municipalities:
            out.append("a local contact needs at least one municipality")
        out += [
            f"municipality {m!r} is not in the postcode list (spell it as content/postcodes.py does)"
            for m in c.municipalities
            if m not in municipalities
        ]
    elif c.municipalities:
        out.append(f"only local contacts name municipalities (scope is {c.scope!r})")
    for key in ("name", "description", "when"):
        text: Text = getattr(c, key)
        if text.missing():
            out.append(f"{key} has no {', '.join(text.missing())} text")
    if c.hours is not None and c.hours.missing():
        out.append(f"hours has no {', '.join(c.hours.missing())} text (or set hours to null)")
    if c.phone is not None:
        problem = _phone_problem(c.phone)
        if problem:
            out.append(problem)
        community = COMMUNITY_NUMBERS.get(c.phone)
        if community and tuple(c.communities) != (community,):
            out.append(f"phone {c.phone} belongs to the {community} community only; check the number and the entry")
    elif c.free:
        out.append("free is true but there is no phone number")
    for key in ("website", "chat"):
        url = getattr(c, key)
        if url is not None and not _URL.fullmatch(url):
            out.append(f"{key} {url!r} is not a web address (http:// or https://)")
    if c.email is not None and not _EMAIL.fullmatch(c.email):
        out.append(f"email {c.email!r} is not an e-mail address")
    if not c.has_channel:
        out.append("no phone, website, e-mail or chat: a person cannot reach it")
    if not c.sources:
        out.append("sources is empty")
    if c.confidence not in CONFIDENCE:
        out.append(f"unknown confidence {c.confidence!r} (use {', '.join(CONFIDENCE)})")
    elif c.confidence == "not-found" and c.phone:
        out.append("confidence is 'not-found' but a phone number is given")
    today = dt.date.today()
    if c.reviewed > today:
        out.append(f"reviewed date {c.reviewed} is in the future")
    if c.confirmed is not None and c.confirmed > today:
        out.append(f"confirmed date {c.confirmed} is in the future")
    if c.seen is None:
        out.append("seen is missing: give the date (or span) the sources show")
    return out


def check(path: Path | None = None) -> list[str]:
    """Load and check a contacts directory; an unreadable file is reported, not raised."""
    try:
        return Directory.load(path).problems()
    except DirectoryError as exc:
        return [str(exc)]


# ---- showing a contact


def _format_date(day: dt.date, lang: str) -> str:
    """A date as people read it in their language ("23 november 2026", "23. November 2026")."""
    from babel.dates import format_date

    return str(format_date(day, format="long", locale=_BABEL_LOCALE.get(lang, "en_GB")))


def _join(items: Sequence[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def format_contact(
    contact: Contact,
    lang: str,
    *,
    today: dt.date | None = None,
    stale_after_months: int = 12,
    labels: Labels | None = None,
) -> str:
    """A contact as a few short plain-text lines: name, what they do, how to reach them, when, caveats."""
    labels = labels or Labels.load()
    lines = [contact.name_for(lang)]
    description = contact.description_for(lang)
    if description:
        lines.append(description)
    if contact.phone:
        phone = contact.phone
        if contact.free:
            phone += f" ({labels.text('free_call', lang)})"
        lines.append(labels.text("phone", lang, phone=phone))
    if contact.website:
        lines.append(labels.text("website", lang, url=contact.website))
    if contact.chat:
        if contact.chat == contact.website:
            lines.append(labels.text("chat_on_website", lang))
        else:
            lines.append(labels.text("chat", lang, url=contact.chat))
    if contact.email:
        lines.append(labels.text("email", lang, email=contact.email))
    if contact.phone or contact.chat:
        hours = contact.hours_for(lang)
        if hours:
            lines.append(labels.text("hours", lang, hours=hours))
        else:
            lines.append(labels.text("hours_unknown" if contact.website else "hours_unknown_no_website", lang))
    if contact.languages and (lang not in contact.languages or len(contact.languages) > 1):
        # say which language a service works in wherever that is not simply the person's own
        names = [labels.text(f"lang_{code}", lang) for code in contact.languages if code in LANGS]
        lines.append(labels.text("languages", lang, languages=_join(names, labels.text("and", lang))))
    if contact.confidence == "one-source":
        lines.append(labels.text("one_source", lang))
    if contact.seen_only_before_2020:
        lines.append(labels.text("old_sources", lang))
    if contact.is_stale(months=stale_after_months, today=today or dt.date.today()):
        warning = "stale_warning" if contact.website else "stale_warning_no_website"
        lines.append(labels.text(warning, lang, date=_format_date(contact.reviewed, lang)))
    return "\n".join(lines)
