"""The free-text danger screen: one message and the person's language in, a category (or nothing) out.

Only the person's own language runs, so French "arme" never fires on Dutch "mijn arme zoon" and English
"gun" never on "ik gun hem". Brussels mixes Dutch and French in one message: the other language's
lexicon runs too, but only when the message holds enough of that language's own small words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from flows.screen.analysis import STEMMERS, analyser
from flows.screen.lexicon import Found, Lexicon
from flows.screen.rules import Rules, load_rules

LEXICONS = Path(__file__).with_name("lexicons")
LANGS: tuple[str, ...] = tuple(STEMMERS)
#: which other language may be mixed into a message in this one
MIXED: dict[str, tuple[str, ...]] = {"nl": ("fr",), "fr": ("nl",)}
#: how many of the other language's marker words a message needs before that lexicon runs too
MIX_MARKERS = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """What the screen found: the category, whether it is said to happen soon, and the words that fired."""

    category: str
    imminent: bool
    lang: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Language:
    lexicon: Lexicon
    markers: frozenset[str]
    #: other language → words of this lexicon that are harmless words there ("gun" in Dutch)
    false_friends: Mapping[str, frozenset[str]] = field(default_factory=dict)


class Screen:
    """Built once at start-up; `check` is pure and cheap (see bench/screen.py)."""

    def __init__(self, rules: Rules, languages: Mapping[str, Language]) -> None:
        self.rules = rules
        self.languages = dict(languages)

    @property
    def size(self) -> dict[str, int]:
        """Patterns per language, for reports."""
        return {lang: language.lexicon.size for lang, language in self.languages.items()}

    def check(self, text: str, lang: str) -> Hit | None:
        if lang not in self.languages:
            lang = "en"
        hit = self._check_in(text, lang)
        if hit is not None:
            return hit
        for other in MIXED.get(lang, ()):
            if other not in self.languages:
                continue
            if self._mixed_in(text, other):
                hit = self._check_in(text, other)
                if hit is not None:
                    return hit
        return None

    def _mixed_in(self, text: str, other: str) -> bool:
        language = self.languages[other]
        words = set(language.lexicon.analyser.words(text))
        return len(words & language.markers) >= MIX_MARKERS

    def _check_in(self, text: str, lang: str) -> Hit | None:
        language = self.languages[lang]
        lexicon = language.lexicon
        words = lexicon.analyser.words(text)
        if not words:
            return None
        for other, friends in language.false_friends.items():
            if other in self.languages and friends.intersection(words) and self._mixed_in(text, other):
                words = [w for w in words if w not in friends]
        found = lexicon.scan(words)
        idioms = [f for f in found if f.concept == self.rules.idiom]
        if idioms:
            found = [f for f in found if f.concept == self.rules.idiom or not _inside(f, idioms)]
        concepts = {f.concept for f in found}
        soon = self.rules.soon in concepts
        meant = self.rules.intent in concepts
        for rule in self.rules.categories:
            if not rule.fires(concepts):
                continue
            blocking = rule.filters & concepts
            if soon:
                blocking -= self.rules.unless_soon
            if meant:
                blocking -= self.rules.unless_intent
            if blocking:
                continue
            used = rule.any | set().union(*rule.all) if rule.all else rule.any
            evidence = tuple(dict.fromkeys(f"{f.concept}: {f.pattern}" for f in found if f.concept in used))
            return Hit(rule.category, soon, lang, evidence)
        return None


def _inside(found: Found, idioms: list[Found]) -> bool:
    return any(i.start <= found.start and found.end <= i.end for i in idioms)


def load_language(lang: str, directory: Path = LEXICONS, rules: Rules | None = None) -> Language:
    with (directory / f"{lang}.yaml").open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    concepts = doc.get("concepts")
    if not isinstance(concepts, dict):
        raise ValueError(f"{lang} lexicon: 'concepts' must be a mapping")
    markers = frozenset(str(m) for m in doc.get("markers", []))
    friends = {str(k): frozenset(str(w) for w in v) for k, v in (doc.get("false_friends") or {}).items()}
    typo_concepts = (rules or load_rules()).danger_concepts
    return Language(Lexicon(lang, concepts, analyser(lang), typo_concepts), markers, friends)


@lru_cache(maxsize=2)
def load_screen(directory: Path = LEXICONS) -> Screen:
    rules = load_rules()
    languages = {lang: load_language(lang, directory, rules) for lang in LANGS}
    for lang, language in languages.items():
        unknown = set(language.lexicon.concepts) - rules.concepts
        if unknown:
            raise ValueError(f"{lang} lexicon: concepts no rule uses: {sorted(unknown)}")
    return Screen(rules, languages)
