"""How concepts combine into a danger category, and what only sounds like danger.

Read from `rules.yaml` beside this module, shared by all languages: the lexicons say which words make a
concept in each language, these rules say which concepts together make a category.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from content.yaml_loader import load_yaml

RULES_PATH = Path(__file__).with_name("rules.yaml")


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """A category fires when one of its `any` concepts is found, or all of one of its `all` groups."""

    category: str
    any: frozenset[str]
    all: tuple[frozenset[str], ...]
    filters: frozenset[str]

    def fires(self, found: Collection[str]) -> bool:
        return bool(self.any & set(found)) or any(group <= set(found) for group in self.all)


@dataclass(frozen=True, slots=True)
class Rules:
    categories: tuple[CategoryRule, ...]
    idiom: str
    soon: str
    intent: str
    unless_soon: frozenset[str]
    unless_intent: frozenset[str] = frozenset()
    #: filters that never yield (idioms, jokes): they also keep the statistical model silent
    never_yield: frozenset[str] = frozenset()
    #: time said to be past ("last week", "vorige vrijdag"): the `soon` words inside it count for nothing
    not_soon: str = "not_soon"
    #: a joke denied ("he is not joking", "dit is geen grap"): the joke and game words inside it count for nothing
    not_joke: str = "not_joke"
    #: concepts that name a real place where people are (a school, a market, a place of worship) ...
    place: frozenset[str] = frozenset()
    #: ... and the filters that yield to one: shooting talk at the school is no game and no joke
    unless_place: frozenset[str] = frozenset()
    #: a turn to the present ("but now", "maar nu", "aber jetzt wieder") ...
    relapse: str = "relapse"
    #: ... and the filters that yield to danger said after it: the past, and recovery told, are over only until
    #: the message says "but now he wants to die again"
    unless_relapse: frozenset[str] = frozenset()
    #: a weapon said to be real ("een echt pistool", "live ammo") ...
    real: str = "real_weapon"
    #: ... unless denied ("not a real gun", "pas une vraie arme"): the real words inside count for nothing
    not_real: str = "not_real"
    #: ... and the filters that yield to it: a real gun taken to paintball is no game
    unless_real: frozenset[str] = frozenset()
    #: "today", "this morning": as urgent as `soon` for a threat, but also the present of a story told of the past
    #: ("two years ago she wanted to die; today she is at university") and the day of a news item ...
    today: str = "today"
    #: ... so it lifts only these filters, not the past or the news
    unless_today: frozenset[str] = frozenset()
    #: a year said of a birth ("born in 2013", "nee en 2013"): the past words inside it count for nothing, or "my
    #: daughter, born in 2014, is cutting herself every night" reads as a story of 2014
    past: str = "past"
    not_past: str = "not_past"
    #: a relapse said as such ("ca recommence", "she relapsed", "het begint opnieuw") lifts these wherever it stands:
    #: the danger it brings back was named before it ("je me scarifiais en secondaire ... depuis juin ca recommence")
    again: str = "again"
    unless_again: frozenset[str] = frozenset()
    #: words that take back the danger words inside them, as an idiom does, but keep the model's word: grief ("sinds de
    #: dood van haar bomma") is no danger said, and no figure of speech either (sixteenth round)
    neutral: str = "neutral"
    #: laughter, a tone ("lol", "mdr", a laughing emoji, a bare "blague"): a joke denied takes it back too ("c'est pas
    #: une blague, il a vraiment le flingue sous son lit")
    laugh: str = "laugh"
    #: each denial and what it takes back inside its own words, built once from the names above (`__post_init__`)
    negations: tuple[tuple[str, frozenset[str]], ...] = field(init=False, default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "negations", (
            (self.not_joke, self.never_yield | {self.laugh}),  # "he is not joking": no joke, game or laughter
            (self.not_real, frozenset({self.real})),  # "it is not a real gun": no real weapon said
            (self.not_past, frozenset({self.past})),  # "born in 2013" is no event of 2013
            (self.not_soon, self.times),  # "last friday" is not soon
        ))

    @property
    def times(self) -> frozenset[str]:
        """The concepts that say when: a hit with one is imminent, and "last friday" holds none of them."""
        return frozenset({self.soon, self.today})

    def imminent(self, concepts: frozenset[str] | set[str]) -> bool:
        return self.soon in concepts or self.today in concepts  # `times`, without a set built per message

    def silences_model(self, category: str, concepts: frozenset[str] | set[str]) -> bool:
        """Whether what the message holds keeps the model's verdict of `category` quiet: an idiom always (its
        words are not meant), a joke or a game only where the rules let it silence that category. A boy who
        gives his playstation away "because he won't need it" is the warning sign, not the game."""
        held = (self.never_yield & concepts) - self.lifted_by(concepts)
        if not held:
            return False
        if self.idiom in held:
            return True
        filters: set[str] = set()
        for rule in self.categories:
            if rule.category == category:
                filters |= rule.filters
        return bool(held & filters)

    def filtered(self, category: str, concepts: frozenset[str] | set[str]) -> bool:
        """Whether the rules found `category`'s words in these concepts and a filter of it that does not yield
        silenced them (a past attempt told with how it ended, a kitchen knife, a news item)."""
        return any(rule.category == category for rule, _ in self._silenced(concepts))

    def told_as_a_story(self, concepts: frozenset[str] | set[str]) -> bool:
        """Whether some category's words were found and only the filters a relapse lifts (the past, recovery told)
        silenced them: a story of something over, where the model must be surer before it speaks."""
        story = self.unless_relapse - self.never_yield  # a joke yields to a turn too, but is no story of something over
        return any(blocking <= story for _, blocking in self._silenced(concepts))

    def _silenced(self, concepts: frozenset[str] | set[str]) -> Iterator[tuple[CategoryRule, frozenset[str]]]:
        """Each category whose words were found, with the filters that silenced them and do not yield."""
        lifted = self.lifted_by(concepts)
        for rule in self.categories:
            if rule.fires(concepts):
                blocking = (rule.filters & concepts) - lifted
                if blocking:
                    yield rule, blocking

    def lifted_by(self, concepts: frozenset[str] | set[str]) -> frozenset[str]:
        """The filters that yield to what the message holds, wherever it stands: a time, an intent, a place where
        people gather, a real weapon (a turn to the present counts only before the danger: `Screen._check_in`)."""
        lifted: frozenset[str] = frozenset()
        if self.soon in concepts:
            lifted |= self.unless_soon
        if self.today in concepts:
            lifted |= self.unless_today
        if self.intent in concepts:
            lifted |= self.unless_intent
        if self.place & concepts:
            lifted |= self.unless_place
        if self.real in concepts:  # a real gun taken to paintball is no game
            lifted |= self.unless_real
        if self.again in concepts:
            lifted |= self.unless_again
        return lifted

    @property
    def danger_concepts(self) -> frozenset[str]:
        """The concepts that make a category fire (typos are forgiven there, never in filters)."""
        names: set[str] = set()
        for rule in self.categories:
            names |= rule.any
            for group in rule.all:
                names |= group
        return frozenset(names)

    @property
    def concepts(self) -> frozenset[str]:
        names = {self.idiom, self.soon, self.today, self.intent, self.not_soon, self.not_joke, self.relapse, self.real,
                 self.not_real, self.not_past, self.again, self.neutral, *self.place}
        for rule in self.categories:
            names |= rule.any | rule.filters
            for group in rule.all:
                names |= group
        return frozenset(names)


def parse_rules(doc: Mapping[str, object]) -> Rules:
    raw = doc.get("categories")
    if not isinstance(raw, list):
        raise ValueError("screen rules: 'categories' must be a list")
    rules = []
    for item in raw:
        rules.append(
            CategoryRule(
                category=str(item["category"]),
                any=frozenset(str(c) for c in item.get("any", [])),
                all=tuple(frozenset(str(c) for c in group) for group in item.get("all", [])),
                filters=frozenset(str(c) for c in item.get("filters", [])),
            )
        )
    def names(key: str) -> frozenset[str]:
        return frozenset(str(c) for c in _names(doc, key))

    def name(key: str, default: str) -> str:
        return str(doc.get(key, default))

    return Rules(tuple(rules), name("idiom", "idiom"), name("soon", "soon"), name("intent", "intent"),
                 names("filters_yield_to_soon"), names("filters_yield_to_intent"), names("filters_never_yield"),
                 name("not_soon", "not_soon"), name("not_joke", "not_joke"), names("place"),
                 names("filters_yield_to_place"), name("relapse", "relapse"), names("filters_yield_to_relapse"),
                 name("real", "real_weapon"), name("not_real", "not_real"), names("filters_yield_to_real"),
                 name("today", "today"), names("filters_yield_to_today"), past=name("past", "past"),
                 not_past=name("not_past", "not_past"), again=name("again", "again"),
                 unless_again=names("filters_yield_to_again"), neutral=name("neutral", "neutral"),
                 laugh=name("laugh", "laugh"))


def _names(doc: Mapping[str, object], key: str) -> list[object]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"screen rules: '{key}' must be a list")
    return value


def load_rules(path: Path = RULES_PATH) -> Rules:
    with path.open(encoding="utf-8") as fh:
        return parse_rules(load_yaml(fh))
