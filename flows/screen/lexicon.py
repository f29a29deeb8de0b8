"""Concept lexicons: named lists of word patterns, read from one YAML file per language.

A pattern is a few terms separated by spaces, matched on consecutive words with up to two words between
terms (``niet meer leven`` finds "niet meer wil leven"); ``...`` between terms allows up to twelve.
A term is one of:

- ``word``   the word itself, or any word with the same Snowball stem ("wapens" finds "wapen");
- ``=word``  exactly this word (for short words whose stem is ambiguous: French "tue" against "tu");
- ``word*``  any word starting with it ("zelfmoord*" finds "zelfmoordgedachten");
- ``*word``  any word ending with it, for compounds ("*mes" finds "jachtmes");
- ``a|b|c``  any of these alternatives (each may use the forms above);
- ``a_b``    as an alternative: these words right after each other ("mijn_vader|papa ... slaat").

In the concepts that signal danger (not in the filters, which must never fire by accident), plain words
of seven letters or more also match a word of seven letters or more with one typo (a letter missing,
added or changed), so "zelfmord" still counts; shorter words must be spelt right, as one letter changes
their meaning.

Every term gets a number; each word of a text is looked up once in dictionaries of words, stems,
prefixes and suffixes, and patterns are then matched on those numbers: the cost grows with the length
of the text, not with the size of the lexicon. Stemming is the costly part (even compiled), so
a word is stemmed only when its first letters (after a Dutch "ge") could begin a lexicon stem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

from flows.screen.analysis import Analyser, fold

GAP = 2
GATE = 3
CACHE_WORDS = 20_000  # words, in memory only; never written anywhere
WIDE_GAP = 12
TYPO_MIN = 7


@dataclass(frozen=True, slots=True)
class Pattern:
    concept: str
    text: str
    terms: tuple[int, ...]
    gaps: tuple[int, ...]  # how many words may stand between term i and i+1
    #: every term after the first: a message lacking one of them cannot match, so it is never tried
    needs: frozenset[int] = frozenset()
    #: `needs` from the term fewest patterns hold to the most (`Lexicon._by_rarity`): a pattern is looked for only
    #: when its first two of these are in the message, and most are rare words ("couteau", not "il")
    rarest: tuple[int, ...] = ()

    def match_at(self, ids: Sequence[frozenset[int]], start: int) -> int | None:
        """The end position when this pattern matches from `start` (whose word matches the first term)."""
        return self._rest(ids, 1, start)

    def _rest(self, ids: Sequence[frozenset[int]], i: int, at: int) -> int | None:
        if i == len(self.terms):
            return at
        term = self.terms[i]
        for pos in range(at + 1, min(len(ids), at + 2 + self.gaps[i - 1])):
            if term in ids[pos]:
                end = self._rest(ids, i + 1, pos)
                if end is not None:
                    return end
        return None


@dataclass(frozen=True, slots=True)
class Found:
    concept: str
    pattern: str
    start: int
    end: int


class Lexicon:
    """One language's concepts, compiled into lookup tables."""

    def __init__(self, lang: str, raw: Mapping[str, Sequence[str]], analyser: Analyser,
                 typo_concepts: frozenset[str] | None = None, verb_forms: Mapping[str, str] | None = None) -> None:
        self.lang = lang
        self.analyser = analyser
        #: inflected forms whose stem Snowball leaves apart from their infinitive's (German "sticht", "schiesst":
        #: the stems of "stechen", "schiessen" are "stech", "schiess"): such a word also matches as its infinitive
        self._verb_forms = {fold(form): fold(infinitive) for form, infinitive in (verb_forms or {}).items()}
        self._terms: dict[str, int] = {}
        self._typos_here = True
        self._by_word: dict[str, set[int]] = {}
        self._by_stem: dict[str, set[int]] = {}
        self._by_prefix: dict[int, dict[str, set[int]]] = {}
        self._by_suffix: dict[int, dict[str, set[int]]] = {}
        self._typo: dict[str, set[str]] = {}
        #: the terms a typo may reach: only those of the danger concepts, never the same word elsewhere
        self._typo_ids: dict[str, set[int]] = {}
        self._starting: dict[int, list[Pattern]] = {}
        self.concepts: dict[str, tuple[Pattern, ...]] = {}
        for name, patterns in raw.items():
            self._typos_here = typo_concepts is None or str(name) in typo_concepts
            compiled = tuple(self._pattern(str(name), str(p), text) for p in patterns for text in _expand(str(p)))
            self.concepts[str(name)] = compiled
        self.concepts = _by_rarity(self.concepts)
        for compiled in self.concepts.values():
            for pattern in compiled:
                self._starting.setdefault(pattern.terms[0], []).append(pattern)
        self._prefix_lengths = sorted(self._by_prefix)
        self._suffix_lengths = sorted(self._by_suffix)
        self._stem_gate = frozenset(stem[:GATE] for stem in self._by_stem)
        #: the terms some pattern needs after its first: only these decide whether a pattern is worth trying
        #: the terms patterns are keyed by (`Pattern.rarest`, the first two): only these decide whether a pattern is
        #: worth trying, so a message's set of them stays small (no "il", no "pas")
        self._keyed = frozenset(term for ps in self._starting.values() for p in ps for term in p.rarest[:2])
        self._words: dict[str, _Word] = {}

    @property
    def size(self) -> int:
        """How many patterns (phrases) the lexicon holds."""
        return sum(len(p) for p in self.concepts.values())

    # ---- building
    def _pattern(self, concept: str, written: str, text: str) -> Pattern:
        terms: list[int] = []
        gaps: list[int] = []
        gap = GAP
        for part in text.split():
            if part in ("...", "^"):
                gap = WIDE_GAP if part == "..." else 0
                continue
            if terms:
                gaps.append(gap)
            terms.append(self._term(part))
            gap = GAP
        if not terms:
            raise ValueError(f"{self.lang} lexicon, {concept}: empty pattern")
        return Pattern(concept, written, tuple(terms), tuple(gaps), frozenset(terms[1:]))

    def _term(self, raw: str) -> int:
        key = fold(raw)
        known = self._terms.get(key)
        if known is not None:
            return known
        tid = len(self._terms)
        self._terms[key] = tid
        for alt in key.split("|"):
            alt = alt.strip()
            if not alt:
                raise ValueError(f"{self.lang} lexicon: empty alternative in {raw!r}")
            if alt.startswith("="):
                self._by_word.setdefault(alt[1:], set()).add(tid)
            elif alt.endswith("*"):
                self._by_prefix.setdefault(len(alt) - 1, {}).setdefault(alt[:-1], set()).add(tid)
            elif alt.startswith("*"):
                self._by_suffix.setdefault(len(alt) - 1, {}).setdefault(alt[1:], set()).add(tid)
            else:
                stem = self.analyser.stem(alt)
                self._by_word.setdefault(alt, set()).add(tid)
                self._by_stem.setdefault(stem, set()).add(tid)
                if len(alt) >= TYPO_MIN and self._typos_here:
                    self._typo_ids.setdefault(alt, set()).add(tid)
                    for variant in {alt, *_deletions(alt)}:
                        self._typo.setdefault(variant, set()).add(alt)
        return tid

    # ---- matching
    def could_share_a_stem(self, word: str) -> bool:
        gate = self._stem_gate
        return word[:GATE] in gate or (word.startswith("ge") and word[2:2 + GATE] in gate)

    def ids(self, words: Sequence[str]) -> list[frozenset[int]]:
        """For each word, the numbers of the terms it matches."""
        return [self._word(w).ids for w in words]

    def _word(self, w: str) -> _Word:
        """A word's terms, the patterns that may start on it and the terms later patterns need (remembered: a
        chat's vocabulary is small, and a message's cost is then a few look-ups per word)."""
        known = self._words.get(w)
        if known is None:
            ids = self._word_ids(w)
            starts = [p for tid in ids for p in self._starting.get(tid, ())]
            groups: dict[int, tuple[list[Pattern], dict[int, list[Pattern]]]] = {}
            for p in starts:
                if p.needs:
                    direct, by_second = groups.setdefault(p.rarest[0], ([], {}))
                    if len(p.rarest) == 1:
                        direct.append(p)
                    else:
                        by_second.setdefault(p.rarest[1], []).append(p)
            by_key = {key: _Group(tuple(direct), {k: tuple(ps) for k, ps in by_second.items()}, frozenset(by_second))
                      for key, (direct, by_second) in groups.items()}
            known = _Word(ids, tuple(p for p in starts if not p.needs), by_key, frozenset(by_key), ids & self._keyed)
            if len(self._words) < CACHE_WORDS:
                self._words[w] = known
        return known

    def _word_ids(self, w: str) -> frozenset[int]:
        found: set[int] = set()
        found |= self._by_word.get(w, set())
        if self.could_share_a_stem(w):
            found |= self._by_stem.get(self.analyser.stem(w), set())
        infinitive = self._verb_forms.get(w)
        if infinitive is not None:
            found |= self._by_word.get(infinitive, set()) | self._by_stem.get(self.analyser.stem(infinitive), set())
        for n in self._prefix_lengths:
            if n > len(w):
                break
            found |= self._by_prefix[n].get(w[:n], set())
        for n in self._suffix_lengths:
            if n > len(w):
                break
            found |= self._by_suffix[n].get(w[-n:], set())
        if len(w) >= TYPO_MIN and not found:
            for near in self._near(w):
                found |= self._typo_ids.get(near, set())
        return frozenset(found)

    def _near(self, word: str) -> set[str]:
        near = set(self._typo.get(word, set()))
        for variant in _deletions(word):
            near |= self._typo.get(variant, set())
        return {n for n in near if _one_edit(word, n)}

    def scan(self, words: Sequence[str]) -> list[Found]:
        """Every concept found in the words of a text, with the pattern that found it and where."""
        cached = list(map(self._words.get, words))
        entries: list[_Word] = cached if all(cached) else [self._word(w) for w in words]  # type: ignore[assignment]
        present = frozenset().union(*map(_NEEDED, entries))
        ids = list(map(_IDS, entries))
        found: list[Found] = []
        for start, entry in enumerate(entries):
            for pattern in entry.alone:
                found.append(Found(pattern.concept, pattern.text, start, start))
            if not entry.keys:
                continue
            # only the patterns whose two rarest later terms the message holds are worth trying: set intersections
            # in C instead of a test per pattern (most words start dozens of patterns, and nearly none match)
            for key in entry.keys & present:
                group = entry.by_key[key]
                for pattern in group.direct:
                    end = pattern.match_at(ids, start)
                    if end is not None:
                        found.append(Found(pattern.concept, pattern.text, start, end))
                if not group.keys:
                    continue
                for second in group.keys & present:
                    for pattern in group.by_key[second]:  # a third later term (few have one): match_at looks
                        end = pattern.match_at(ids, start)
                        if end is not None:
                            found.append(Found(pattern.concept, pattern.text, start, end))
        return found


@dataclass(frozen=True, slots=True)
class _Group:
    """The longer patterns a word starts that share the rarest of their later terms."""

    #: those with no other later term (found once the rarest is in the message)
    direct: tuple[Pattern, ...]
    #: the others, by the second rarest of their later terms
    by_key: Mapping[int, tuple[Pattern, ...]]
    keys: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Word:
    ids: frozenset[int]
    #: the one-term patterns this word matches by itself
    alone: tuple[Pattern, ...]
    #: the longer patterns whose first term this word matches, by the rarest of their later terms (`Pattern.rarest`)
    by_key: Mapping[int, _Group]
    #: `by_key`'s keys as a frozenset: intersecting it with the message's terms is three times as fast as a
    #: dict's keys view
    keys: frozenset[int]
    #: the ids patterns are keyed by (`Lexicon._keyed`) that this word matches
    needed: frozenset[int]


_IDS = attrgetter("ids")
_NEEDED = attrgetter("needed")


def _by_rarity(concepts: Mapping[str, tuple[Pattern, ...]]) -> dict[str, tuple[Pattern, ...]]:
    """The patterns with their later terms ordered from the one fewest patterns hold (a rare word, likely rare in
    messages too) to the most held ("il", "pas"), ties by number: what `Lexicon.scan` keys them by."""
    held = Counter(term for patterns in concepts.values() for p in patterns for term in set(p.terms))

    def rarity(term: int) -> tuple[int, int]:
        return held[term], term

    return {name: tuple(replace(p, rarest=tuple(sorted(p.needs, key=rarity))) for p in patterns)
            for name, patterns in concepts.items()}


def _expand(text: str) -> list[str]:
    """Spell out multi-word alternatives: ``a_b|c d`` becomes the two patterns ``a b d`` and ``c d``."""
    variants = [""]
    for part in text.split():
        alts = part.split("|")
        single = "|".join(a for a in alts if "_" not in a)
        options = ([single] if single else []) + [a.replace("_", " ^ ") for a in alts if "_" in a]
        variants = [f"{v} {o}".strip() for v in variants for o in options]
    return variants


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one letter added, dropped or changed."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}
