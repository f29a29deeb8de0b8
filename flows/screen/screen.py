"""The free-text danger screen: one message and the person's language in, a category (or nothing) out.

Only the person's own language runs, so French "arme" never fires on Dutch "mijn arme zoon" and English
"gun" never on "ik gun hem". Brussels mixes Dutch and French in one message: the other language's
lexicon runs too, but only when the message holds enough of that language's own small words.

The rules name what they know; when they find nothing, the language's statistical model (`model.py`,
trained at build time from the corpus) may still fire with its own category when it is sure enough —
never on words the lexicon reads as an idiom or a joke. The other way round, the model may silence a hit of
the rules only where held-out studies showed it safe: a hit with no time on it that it reads as all but surely
harmless (P(urgent) under a cut per language and category, at most 0.02 and never for self-harm:
`model_build.VETO_CUTS`, bench/screen_replay.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from content.yaml_loader import load_yaml
from flows.screen import model as screen_model
from flows.screen.analysis import STEMMERS, analyser, preload_stems
from flows.screen.lexicon import Found, Lexicon
from flows.screen.model import Model
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
    #: "rules" (the lexicons named it) or "model" (only the statistical model was sure enough)
    source: str = "rules"


@dataclass(frozen=True, slots=True)
class Language:
    lexicon: Lexicon
    markers: frozenset[str]
    #: other language → words of this lexicon that are harmless words there ("gun" in Dutch)
    false_friends: Mapping[str, frozenset[str]] = field(default_factory=dict)


class Screen:
    """Built once at start-up; `check` is pure and cheap (see bench/screen.py)."""

    def __init__(self, rules: Rules, languages: Mapping[str, Language],
                 models: Mapping[str, Model] | None = None, model_respects_filters: bool = False) -> None:
        self.rules = rules
        self.languages = dict(languages)
        self.models = dict(models or {})
        #: when the rules found a category's words and one of its filters silenced them (the past, the news, a
        #: kitchen knife), the model may not name that category either
        self.model_respects_filters = model_respects_filters

    @property
    def size(self) -> dict[str, int]:
        """Patterns per language, for reports."""
        return {lang: language.lexicon.size for lang, language in self.languages.items()}

    def check(self, text: str, lang: str) -> Hit | None:
        if lang not in self.languages:
            lang = "en"
        hit, concepts = self._check_in(text, lang)
        if hit is not None:
            return self._unless_vetoed(hit, text, lang)
        for other in MIXED.get(lang, ()):
            if other not in self.languages:
                continue
            if self._mixed_in(text, other):
                hit, _ = self._check_in(text, other)
                if hit is not None:
                    return hit
        return self._model_hit(text, lang, concepts)

    def _unless_vetoed(self, hit: Hit, text: str, lang: str) -> Hit | None:
        """A hit of the rules stands unless the model is all but sure the message is harmless, and then only in
        the categories its veto covers, at each one's cut (`model_build.VETO_CUTS`), and a hit with a time on it
        only at a cut twenty times lower (`model.IMMINENT_VETO_CUT`): "tomorrow at school" is the most urgent kind
        of threat, and the model, trained on game and idiom talk with the same words, once scored one such threat
        at 0.008."""
        model = self.models.get(lang)
        if model is not None and model.vetoes(text, hit.category, hit.imminent):
            return None
        return hit

    def _model_hit(self, text: str, lang: str, concepts: set[str]) -> Hit | None:
        """The model's word when the rules found nothing: only above its threshold, never on an idiom, nor on a
        joke or a game where the rules would let those silence the category it names (`Rules.silences_model`)."""
        model = self.models.get(lang)
        if model is None or self.rules.idiom in concepts:  # an idiom silences every verdict: not worth scoring
            return None
        verdict = model.fires(text)
        if verdict is None or self.rules.silences_model(verdict.category, concepts):
            return None
        if verdict.urgent < screen_model.STORY_BAR and self.rules.told_as_a_story(concepts):
            return None  # a story of something over: the model must be surer there
        if self.model_respects_filters and self.rules.filtered(verdict.category, concepts):
            return None
        evidence = (f"model: {verdict.urgent:.2f} >= {model.threshold:.2f}",
                    *(f"model feature: {f.strip()}" for f in verdict.evidence))
        return Hit(verdict.category, self.rules.imminent(concepts), lang, evidence, "model")

    def _mixed_in(self, text: str, other: str) -> bool:
        language = self.languages[other]
        words = set(language.lexicon.analyser.words(text))
        return len(words & language.markers) >= MIX_MARKERS

    def _check_in(self, text: str, lang: str) -> tuple[Hit | None, set[str]]:
        """The rules' hit in one language, and every concept found (the model needs the filters)."""
        language = self.languages[lang]
        lexicon = language.lexicon
        words = lexicon.analyser.words(text)
        if not words:
            return None, set()
        for other, friends in language.false_friends.items():
            if other in self.languages and friends.intersection(words) and self._mixed_in(text, other):
                words = [w for w in words if w not in friends]
        found = lexicon.scan(words)
        shields = (self.rules.idiom, self.rules.neutral)  # words inside these count for nothing
        shielding = [f for f in found if f.concept in shields]
        if shielding:
            found = [f for f in found if f.concept in shields or not _inside(f, shielding)]
        for denial, taken_back in self.rules.negations:  # "not joking", "not a real gun", "born in", "last friday"
            spans = [f for f in found if f.concept == denial]
            if spans:
                found = [f for f in found if f.concept not in taken_back or not _inside(f, spans)]
        concepts = {f.concept for f in found}
        soon = self.rules.imminent(concepts)
        lifted = self.rules.lifted_by(concepts)
        turns = [f.start for f in found if f.concept == self.rules.relapse]
        for rule in self.rules.categories:
            if not rule.fires(concepts):
                continue
            blocking = (rule.filters & concepts) - lifted
            used = rule.any | set().union(*rule.all) if rule.all else rule.any
            if turns and blocking & self.rules.unless_relapse and any(
                    f.concept in used and f.start > min(turns) for f in found):
                blocking -= self.rules.unless_relapse  # "last year he got help, but now he wants to die again"
            if blocking:
                continue
            evidence = tuple(dict.fromkeys(f"{f.concept}: {f.pattern}" for f in found if f.concept in used))
            return Hit(rule.category, soon, lang, evidence), concepts
        return None, concepts


def _inside(found: Found, idioms: list[Found]) -> bool:
    return any(i.start <= found.start and found.end <= i.end for i in idioms)


def load_language(lang: str, directory: Path = LEXICONS, rules: Rules | None = None,
                  use_stem_table: bool = True) -> Language:
    with (directory / f"{lang}.yaml").open(encoding="utf-8") as fh:
        doc = load_yaml(fh)
    if use_stem_table:
        from flows.screen import stems  # here, so `python -m flows.screen.stems` runs it as a fresh module

        preload_stems(lang, stems.read(lang, directory))
    concepts = doc.get("concepts")
    if not isinstance(concepts, dict):
        raise ValueError(f"{lang} lexicon: 'concepts' must be a mapping")
    markers = frozenset(str(m) for m in doc.get("markers", []))
    friends = {str(k): frozenset(str(w) for w in v) for k, v in (doc.get("false_friends") or {}).items()}
    forms = {str(k): str(v) for k, v in (doc.get("verb_forms") or {}).items()}
    typo_concepts = (rules or load_rules()).danger_concepts
    return Language(Lexicon(lang, concepts, analyser(lang), typo_concepts, forms), markers, friends)


@lru_cache(maxsize=4)
def load_screen(directory: Path = LEXICONS, with_model: bool = True) -> Screen:
    """The screen of all languages; `with_model=False` gives the rules alone (for comparisons)."""
    rules = load_rules()
    languages = {lang: load_language(lang, directory, rules) for lang in LANGS}
    for lang, language in languages.items():
        unknown = set(language.lexicon.concepts) - rules.concepts
        if unknown:
            raise ValueError(f"{lang} lexicon: concepts no rule uses: {sorted(unknown)}")
    models: dict[str, Model] = {}
    if with_model:
        for lang in LANGS:
            loaded = screen_model.load(lang)
            if loaded is not None:
                models[lang] = loaded
    return Screen(rules, languages, models)
