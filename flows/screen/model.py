"""A small statistical model next to the rules: it adds recall where the lexicons have no word yet.

A multinomial logistic regression per language over the analysed message: Snowball stems, pairs of
neighbouring stems, and character n-grams of the folded words (they forgive typos and catch compounds
such as "afscheidsbrief" the lexicon never listed). Seven classes: harmless and the six categories, so a
hit of the model still names its category.

It is trained at build time from the reviewed corpus (`python -m flows.screen.model_build`, pure
Python, no network, deterministic: a fixed seed and order), and the weights are committed beside this
module as `model/<lang>.json` with the corpus digest they came from, so start-up only reads a file and
nothing is ever downloaded. Scoring a message is a few look-ups per word: each word's features are found once and
remembered, with their weights summed as one packed integer (`_pack`), so a message's sum is a handful of C-level
operations per word, exact and the same in any order.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice, pairwise, repeat
from operator import add, itemgetter, lshift, mul
from pathlib import Path
from typing import NamedTuple

from flows.screen.analysis import Analyser, analyser

MODELS = Path(__file__).with_name("model")
#: the model's classes: index 0 is harmless, the others are the screen's categories
CLASSES: tuple[str, ...] = ("harmless", "self_harm", "attack", "travel", "home", "violence", "weapons")
#: character n-gram sizes taken from each folded word (with a space on each side)
CHAR_NGRAMS: tuple[int, ...] = (3, 4, 5)
#: the model speaks only on messages it can read: at least this many words whose stem it knows, making up
#: at least this share of the message ("hello" alone, or English typed in a Dutch chat, is not its to judge)
MIN_KNOWN_WORDS = 4
MIN_KNOWN_SHARE = 0.6
#: a rules hit with a time on it ("tomorrow", "on friday") is vetoed only under this P(urgent), twenty times below the
#: cut of a hit without one, and never in self-harm: in the replay (each blind training part held out whole) the
#: lowest urgent hit with a time scored 0.0047 (nl 0.0098, fr 0.022, en 0.070) and this cut silenced 11 of the 45 false
#: alarms with a time; once measured on `untouched`, 9 of 103 false alarms and no urgent line (fourteenth round,
#: docs/danger-screen.md). The threat dressed as game talk that once fell under the plain veto, "er spielt fortnite
#: und sagt er knallt morgen in der schule alle ab" (0.008 then), is a test.
IMMINENT_VETO_CUT = 0.001
#: the model's word where the rules found danger words that only a story of the past or of recovery silenced ("il y a
#: dix ans j'ai fait une tentative de suicide, maintenant je vais bien"): there it must be surer than its threshold. In
#: the replay (each blind training part held out whole) the lowest urgent line the model caught there scored 0.668 (a
#: German girl who "wants to go to grandpa", dead last year, and asked for his hunting knife; French 0.83, Dutch none
#: under 0.95); this bar spared 11 false alarms over the four languages (nl 2, fr 3, de 4, en 2) and lost none. At 0.7,
#: first chosen on the French and Dutch replay alone, it lost that German line (sixteenth round, docs/danger-screen.md)
STORY_BAR = 0.6
#: How a message is scored fast (`Model._verdict`): each feature's seven weights, kept to four decimals (`to_json`), as
#: whole numbers of 1/10,000 side by side in one Python int, each in a field of `_FIELD_BITS` bits holding the weight
#: plus `_FIELD_OFFSET` (so never negative), above `_TAG_BITS` bits holding the feature's own number (so two features
#: with the same weights stay two in a set). Adding such ints adds every class at once, exactly and in any order: a
#: message's features are the union of its words' sets of these ints, and its sum is one `sum` in C, with no look-up per
#: feature. The fields and the tag cannot overflow while a model has fewer than `_MAX_FEATURES` (checked at load).
#: A model trained in memory (`train`, the studies in bench/) is scored so too: as its saved file will be.
_SCALE = 10_000
_FIELD_BITS = 40
_FIELD_OFFSET = 1 << 20
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_TAG_BITS = 40
_MAX_FEATURES = 1 << 19


def ngrams_in_order(word: str) -> Iterator[str]:
    """The character n-grams of one folded word, with a space on each side, in the word's own order."""
    padded = f" {word} "
    size = len(padded)
    return (padded[i:i + n] for n in CHAR_NGRAMS for i in range(size - n + 1))


def word_ngrams(word: str) -> set[str]:
    """The same, as a set."""
    return set(ngrams_in_order(word))


def word_features(words: Sequence[str], an: Analyser) -> set[str]:
    """The stem and stem-pair features of a message's words."""
    return stem_features([an.stem(w) for w in words])


def stem_features(stems: Sequence[str]) -> set[str]:
    """The same, from the words' stems."""
    out: set[str] = {f"w {s}" for s in stems}
    out.update(f"b {a} {b}" for a, b in pairwise(stems))
    return out


def feature_set(text: str, an: Analyser) -> set[str]:
    """The features of one message: stems, stem pairs and character n-grams of the folded words."""
    words = an.words(text)
    out = word_features(words, an)
    for word in words:
        out |= word_ngrams(word)
    return out


def features(text: str, an: Analyser) -> list[str]:
    """The same features in a fixed order, for training (the order must not depend on hashing)."""
    return sorted(feature_set(text, an))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The model's reading of one message: how likely it is urgent, and the most likely category."""

    urgent: float
    category: str
    #: the features that pushed most towards that category, for a reviewer
    evidence: tuple[str, ...]


#: the verdict on a message the model does not read (too few known words): no evidence either way
_UNREAD = Verdict(0.0, CLASSES[1], ())


class Model:
    """Weights of one language; `score` is pure and cheap."""

    def __init__(self, lang: str, weights: Mapping[str, Sequence[float]], bias: Sequence[float],
                 threshold: float = 0.5, veto_cuts: Mapping[str, float] | None = None, digest: str = "") -> None:
        self.lang = lang
        self.weights = weights
        self.bias = tuple(bias)
        #: the model fires alone (when the rules found nothing) from this probability of urgent
        self.threshold = threshold
        #: per category, the probability of urgent below which a hit of the rules is taken for a false alarm (a
        #: category not named here: the model never silences the rules there)
        self.veto_cuts: dict[str, float] = {c: cut for c, cut in (veto_cuts or {}).items() if cut > 0.0}
        self.digest = digest
        self.analyser = analyser(lang)
        if len(weights) >= _MAX_FEATURES or len(self.bias) != len(CLASSES):
            raise ValueError(f"screen model {lang}: {len(weights)} features and {len(self.bias)} classes: not packable")
        #: where each class's field starts, above the tag bits
        self._shifts = tuple(range(_TAG_BITS, _TAG_BITS + _FIELD_BITS * len(self.bias), _FIELD_BITS))
        self._word_cache: dict[str, _WordPart] = {}
        #: stem → the pair features it begins, by the next stem, packed (`_stem_pairs`)
        self._by_first_stem: dict[str, dict[str, int]] = {}
        self._pair_index: dict[str, dict[str, str]] | None = None
        #: each feature met so far → its weights packed into one int (`_pack`)
        self._packed: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._top_cache: dict[tuple[str, int], tuple[tuple[str, float], ...]] = {}

    def _known_ngrams(self, word: str) -> tuple[str, ...]:
        """A word's n-grams that have a weight, each once, in the word's own order (not a set's, which differs
        between processes); called once per word, whose part `_word_part` remembers."""
        return tuple(dict.fromkeys(filter(self.weights.__contains__, ngrams_in_order(word))))

    def reads(self, text: str) -> bool:
        """Whether the model speaks on this message: enough words whose stem it knows (else it scores 0.0)."""
        return _reads(self._parts(self.analyser.words(text)))

    def vetoes(self, text: str, category: str, imminent: bool = False) -> bool:
        """Whether a hit of the rules in `category` is taken for a false alarm: a category the veto covers, a
        message the model reads (a 0.0 for a message it cannot judge is no evidence), P(urgent) under its cut
        (under `IMMINENT_VETO_CUT` when the hit has a time on it)."""
        cut = self.veto_cuts.get(category)
        if cut is None:
            return False
        if imminent:
            cut = min(cut, IMMINENT_VETO_CUT)
        verdict = self._verdict(text)
        return verdict is not _UNREAD and verdict.urgent < cut

    @property
    def veto_categories(self) -> frozenset[str]:
        """The categories whose rules hits the model may silence."""
        return frozenset(self.veto_cuts)

    def score(self, text: str) -> Verdict:
        """How likely the message is urgent and its likeliest category; the evidence is left empty (cheap)."""
        return self._verdict(text)

    def explain(self, text: str) -> Verdict:
        """`score` with the three features that pushed most towards the category, for a hit's evidence."""
        verdict = self._verdict(text)
        return self._explained(verdict, text)

    def fires(self, text: str) -> Verdict | None:
        """The explained verdict when P(urgent) reaches the threshold, else None; the features are looked at for
        the evidence only then."""
        verdict = self._verdict(text)
        return self._explained(verdict, text) if verdict.urgent >= self.threshold else None

    def _explained(self, verdict: Verdict, text: str) -> Verdict:
        """The verdict with the three known features that pushed most towards its category rather than harmless
        (the smallest harmless-minus-category weight, ties by name). Each word's own three (of its n-grams and its
        stem) are remembered: the message's three are among them and its stem pairs, so a long message costs a
        look-up per word, not per n-gram."""
        if verdict is _UNREAD:
            return verdict
        best = CLASSES.index(verdict.category)
        weights = self.weights
        words = self.analyser.words(text)
        parts = self._parts(words)
        margins = {f: (row := weights[f])[0] - row[best] for f in self._pair_names(parts)}
        unique = dict(zip(words, parts, strict=True))  # each word once
        cached = list(map(self._top_cache.get, zip(unique, repeat(best))))
        if None in cached:  # a word not explained before for this category
            cached = [self._word_top(word, part, best) for word, part in unique.items()]
        margins.update(chain.from_iterable(cached))  # type: ignore[arg-type]  # no None left
        top = heapq.nsmallest(3, zip(margins.values(), margins.keys(), strict=True))
        return Verdict(verdict.urgent, verdict.category, tuple(f for _, f in top))

    def _word_top(self, word: str, part: _WordPart, best: int) -> tuple[tuple[str, float], ...]:
        key = (word, best)
        cached = self._top_cache.get(key)
        if cached is None:
            weights = self.weights
            top = heapq.nsmallest(3, ((weights[f][0] - weights[f][best], f) for f in part.features))
            cached = tuple((f, m) for m, f in top)
            if len(self._top_cache) < 100_000:
                self._top_cache[key] = cached
        return cached

    def _verdict(self, text: str) -> Verdict:
        """The verdict, without evidence: each known feature of the message counted once, as in training.

        Each word's features (its known character n-grams and its stem) are remembered as a set of packed ints (see
        `_FIELD_BITS`): the message's features are the union of its words' sets, so a feature two words share (" de"
        in "de" and "des") counts once, and their sum is one `sum` in C."""
        words = self.analyser.words(text)
        parts = self._parts(words)
        if not _reads(parts):
            return _UNREAD
        features = set().union(*map(_PACKED, parts))
        features |= self._pairs(parts)
        count = len(features)
        if not count:  # nothing the model knows: the class priors alone are no evidence
            return _UNREAD
        total = sum(features)  # the tags sum below the fields, which `_shifts` start above
        base = count * _FIELD_OFFSET
        scale = 1.0 / (_SCALE * math.sqrt(count))
        probs = _softmax([b + (((total >> shift) & _FIELD_MASK) - base) * scale
                          for b, shift in zip(self.bias, self._shifts, strict=True)])
        best = max(range(1, len(probs)), key=probs.__getitem__)
        return Verdict(1.0 - probs[0], CLASSES[best], ())

    def _parts(self, words: Sequence[str]) -> list[_WordPart]:
        """Each word's part, from the cache (a chat's vocabulary is small) or made now."""
        parts = list(map(self._word_cache.get, words))
        if all(parts):  # a part is never falsy: None is a word not met before
            return parts  # type: ignore[return-value]
        return [self._word_part(w) for w in words]

    def _pairs(self, parts: Sequence[_WordPart]) -> set[int]:
        """The stem-pair features the model knows among neighbouring words, packed (`_pack`), each once: each word's
        part holds the pairs its stem begins, by the next stem (`_stem_pairs`)."""
        found: set[int | None] = set(map(dict.get, map(_PAIRS, parts), map(_STEM, islice(parts, 1, None))))
        found.discard(None)
        return found  # type: ignore[return-value]  # None taken out

    def _pair_names(self, parts: Sequence[_WordPart]) -> list[str]:
        """The stem-pair features the model knows, by name (for evidence)."""
        return list(map(self._names.__getitem__, self._pairs(parts)))

    def _stem_pairs(self, stem: str) -> dict[str, int]:
        """The pair features that begin with this stem, by the stem after it, packed; one dict shared by the words of
        a stem (the index of all pairs is made at the first word, a few milliseconds)."""
        pairs = self._by_first_stem.get(stem)
        if pairs is None:
            if self._pair_index is None:
                index: dict[str, dict[str, str]] = {}
                for feature in self.weights:
                    if feature.startswith("b "):
                        _, first, second = feature.split(" ")
                        index.setdefault(first, {})[second] = feature
                self._pair_index = index
            named = self._pair_index.get(stem)
            pairs = {second: self._pack(feature) for second, feature in named.items()} if named else _NO_PAIRS
            if len(self._by_first_stem) < 100_000:
                self._by_first_stem[stem] = pairs
        return pairs

    def _pack(self, feature: str) -> int:
        """A feature's weights as one int (see `_FIELD_BITS`), made once and remembered."""
        packed = self._packed.get(feature)
        if packed is None:
            values = list(map(round, map(mul, self.weights[feature], repeat(_SCALE))))
            if max(map(abs, values)) >= _FIELD_OFFSET:
                raise ValueError(f"screen model {self.lang}: a weight of {feature!r} is too large to pack")
            # the fields, and the feature's own number in the tag bits
            packed = sum(map(lshift, map(add, values, repeat(_FIELD_OFFSET)), self._shifts), len(self._packed))
            self._packed[feature] = packed
            self._names[packed] = feature
        return packed

    def _word_part(self, word: str) -> _WordPart:
        part = self._word_cache.get(word)
        if part is None:
            stem = self.analyser.stem(word)
            key = f"w {stem}"
            known = key in self.weights
            grams = self._known_ngrams(word)
            names = (*grams, key) if known else grams
            part = _WordPart(stem, known, names, frozenset(map(self._pack, names)), self._stem_pairs(stem))
            if len(self._word_cache) < 100_000:
                self._word_cache[word] = part
        return part

    def to_json(self) -> dict[str, object]:
        return {"lang": self.lang, "classes": list(CLASSES), "threshold": self.threshold,
                "veto_cuts": dict(sorted(self.veto_cuts.items())), "corpus_digest": self.digest,
                "bias": [round(b, 4) for b in self.bias],
                "weights": {f: [round(w, 4) for w in row] for f, row in sorted(self.weights.items())}}

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> Model:
        if doc.get("classes") != list(CLASSES):
            raise ValueError("screen model: classes differ from this code's")
        weights = doc["weights"]
        bias = doc["bias"]
        assert isinstance(weights, dict) and isinstance(bias, list)
        # the rows stay the lists json made (copying 9 000 of them into tuples was a third of the load)
        cuts = doc.get("veto_cuts", {})
        assert isinstance(cuts, dict)
        return cls(str(doc["lang"]), weights, bias, float(str(doc["threshold"])),
                   {str(c): float(str(cut)) for c, cut in cuts.items()}, str(doc.get("corpus_digest", "")))


class _WordPart(NamedTuple):
    """One word as the model reads it: its stem, whether that stem is a feature, the word's features (its known
    character n-grams and its stem) by name, the same packed (`Model._pack`), and its stem's pair features."""

    stem: str
    known: bool
    features: tuple[str, ...]
    packed: frozenset[int]
    #: the pair features this word's stem begins, by the next word's stem, packed
    pairs: dict[str, int]


_STEM = itemgetter(0)
_KNOWN = itemgetter(1)
_PACKED = itemgetter(3)
_PAIRS = itemgetter(4)
#: the pairs of a stem that begins none (shared, never written to)
_NO_PAIRS: dict[str, int] = {}


def _reads(parts: Sequence[_WordPart]) -> bool:
    """Enough words whose stem the model knows (`MIN_KNOWN_WORDS`, `MIN_KNOWN_SHARE`)."""
    known = sum(map(_KNOWN, parts))
    return known >= MIN_KNOWN_WORDS and known >= MIN_KNOWN_SHARE * len(parts)


def _softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    epochs: int = 12
    rate: float = 0.5
    l2: float = 1e-4
    #: a feature must occur in this many training messages to get a weight (keeps the file small)
    min_count: int = 2
    seed: int = 11
    #: weigh each feature by how unevenly it falls between urgent and harmless training lines (the naive Bayes
    #: log-count ratio, |r| ** 0.5 + 0.25), folded into the weights at the end so scoring is unchanged
    nb_weighting: bool = True


def train(lang: str, items: Iterable[tuple[str, str]], settings: TrainingSettings = TrainingSettings(),
          threshold: float = 0.5, veto_cuts: Mapping[str, float] | None = None) -> Model:
    """Fit the weights on (text, class) pairs by stochastic gradient descent with AdaGrad steps.

    Deterministic: the same items in the same order give the same weights, on any machine.
    """
    an = analyser(lang)
    rows = [(features(text, an), CLASSES.index(label)) for text, label in items]
    counts = Counter(f for feats, _ in rows for f in feats)
    kept = {f for f, n in counts.items() if n >= settings.min_count}
    rows = [([f for f in feats if f in kept], label) for feats, label in rows]
    k = len(CLASSES)
    gain = _nb_gains(rows) if settings.nb_weighting else {}
    weights: dict[str, list[float]] = {f: [0.0] * k for f in sorted(kept)}
    squares: dict[str, list[float]] = {f: [1e-8] * k for f in sorted(kept)}
    bias = [0.0] * k
    bias_squares = [1e-8] * k
    # each line's input per feature, taken once for all epochs: 1/sqrt(its features), times the feature's gain
    inputs = [[1.0 / math.sqrt(max(len(feats), 1)) * gain.get(f, 1.0) for f in feats] for feats, _ in rows]
    order = list(range(len(rows)))
    rng = random.Random(settings.seed)
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for index in order:
            feats, label = rows[index]
            xs = inputs[index]
            sums = list(bias)
            for f, x in zip(feats, xs, strict=True):
                row = weights[f]
                for c in range(k):
                    sums[c] += row[c] * x
            probs = _softmax(sums)
            grads = [p - (1.0 if c == label else 0.0) for c, p in enumerate(probs)]
            for c in range(k):
                bias_squares[c] += grads[c] * grads[c]
                bias[c] -= settings.rate * grads[c] / math.sqrt(bias_squares[c])
            for f, x in zip(feats, xs, strict=True):
                row = weights[f]
                sq = squares[f]
                for c in range(k):
                    g = grads[c] * x + settings.l2 * row[c]
                    sq[c] += g * g
                    row[c] -= settings.rate * g / math.sqrt(sq[c])
    if gain:  # folded in: a message's score is then the plain sum it always was
        weights = {f: [w * gain[f] for w in row] for f, row in weights.items()}
    pruned = {f: tuple(row) for f, row in weights.items() if max(abs(w) for w in row) >= 0.01}
    return Model(lang, pruned, bias, threshold, veto_cuts)


def _nb_gains(rows: Sequence[tuple[list[str], int]]) -> dict[str, float]:
    """Per feature, |log((p_f / |p|) / (q_f / |q|))| ** 0.5 + 0.25, p and q its smoothed counts in urgent and
    harmless lines: a feature seen on one side only counts more from the first step."""
    urgent: Counter[str] = Counter()
    harmless: Counter[str] = Counter()
    for feats, label in rows:
        (urgent if label else harmless).update(feats)
    vocabulary = set(urgent) | set(harmless)
    p_total = sum(urgent.values()) + len(vocabulary)
    q_total = sum(harmless.values()) + len(vocabulary)
    return {f: abs(math.log(((urgent[f] + 1) / p_total) / ((harmless[f] + 1) / q_total))) ** 0.5 + 0.25
            for f in vocabulary}


def corpus_digest(items: Iterable[tuple[str, str]], settings: TrainingSettings = TrainingSettings()) -> str:
    """What the model was trained from and how, so a test can tell when the committed weights are stale."""
    h = hashlib.sha256()
    h.update(f"{settings!r}\n".encode())
    for text, label in items:
        h.update(f"{label}\t{text}\n".encode())
    return h.hexdigest()[:16]


def model_path(lang: str, directory: Path = MODELS) -> Path:
    return directory / f"{lang}.json.gz"


def save(model: Model, directory: Path = MODELS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = model_path(model.lang, directory)
    data = json.dumps(model.to_json(), sort_keys=True, separators=(",", ":")).encode()
    # mtime=0: the same weights give the same bytes, so a rebuild leaves git clean
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
        fh.write(data)
    return path


def load(lang: str, directory: Path = MODELS) -> Model | None:
    """The committed model of a language, or None when none was built (the rules then run alone)."""
    path = model_path(lang, directory)
    if not path.exists():
        return None
    with gzip.open(path, "rb") as fh:
        return Model.from_json(json.loads(fh.read()))
