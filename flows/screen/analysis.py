"""Per-language text analysis for the danger screen: fold, split into words, stem.

People write in lowercase without accents, with chat spelling and typos; the lexicons are written the
same folded way, so both sides meet in the middle: casefolded, accents stripped, apostrophes and
punctuation split off, then Snowball stems (PyStemmer, Snowball's rules compiled; snowballstemmer's pure Python
where it is missing, with the same stems: tests/flows/test_screen.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import snowballstemmer

#: our locales → Snowball algorithm names
STEMMERS: dict[str, str] = {"nl": "dutch", "fr": "french", "de": "german", "en": "english"}

_WORD = re.compile(r"[a-z0-9]+")
#: contractions undone before words are split (English "doesn't" is "does not")
CONTRACTIONS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "en": ((re.compile(r"\bcan'?t\b"), "can not"), (re.compile(r"\bwon'?t\b"), "will not"),
           (re.compile(r"n't\b"), " not"), (re.compile(r"'ll\b"), " will"), (re.compile(r"'re\b"), " are"),
           (re.compile(r"'m\b"), " am"), (re.compile(r"'s\b"), " is"), (re.compile(r"'d\b"), " would")),
}
#: chat spellings that hide a word the lexicons know (applied to whole folded words)
CHAT_SPELLING: dict[str, dict[str, str]] = {
    "nl": {"mn": "mijn", "m'n": "mijn", "zn": "zijn", "z'n": "zijn", "k": "ik", "ff": "even", "wil'": "wil",
           "gaat'": "gaat", "da": "dat", "nie": "niet", "ni": "niet", "nimeer": "niet meer", "kga": "ik ga",
           # "k" before an auxiliary is "ik" ("kzou hem kunnen vermoorden": an idiom the lexicon knows as "zou")
           **{f"k{verb}": f"ik {verb}" for verb in ("zou", "zal", "heb", "ben", "wil", "moet", "kan", "was", "had",
                                                    "weet", "denk", "vind", "zeg", "mag")}},
    "fr": {"jveux": "je veux", "jsuis": "je suis", "chui": "je suis", "jpeux": "je peux", "qqn": "quelqu un",
           "qqch": "quelque chose", "pk": "pourquoi", "bcp": "beaucoup", "tt": "tout", "vx": "veux", "ve": "veut",
           "jvais": "je vais", "g": "j ai", "mm": "meme", "ptn": "putain", "dmain": "demain",
           "ajd": "aujourd hui", "auj": "aujourd hui", "aujourdhui": "aujourd hui",
           # the apostrophe left out in chat: "jetais petite", "cetait fini", "jvoulais mourir"
           "jai": "j ai", "javais": "j avais", "jetais": "j etais", "jen": "j en", "cest": "c est", "cetait": "c etait",
           "sest": "s est", "jvoulais": "je voulais", "jsais": "je sais", "jme": "je me", "jte": "je te",
           "jle": "je le", "jla": "je la", "jlui": "je lui", "jlai": "je l ai", "ya": "il y a", "yavait": "il y avait"},
    "de": {"ne": "eine", "nen": "einen", "n": "ein", "hab": "habe", "nich": "nicht", "nix": "nichts",
           "gehts": "geht es", "morgn": "morgen", "wi": "wie"},
    "en": {"im": "i am", "ill": "i will", "hes": "he is", "shes": "she is", "gonna": "going to",
           "wanna": "want to", "u": "you", "ur": "your", "dont": "do not", "doesnt": "does not", "cant": "can not",
           "wont": "will not", "isnt": "is not", "tmrw": "tomorrow", "tmr": "tomorrow", "2morrow": "tomorrow",
           "2nite": "tonight", "tonite": "tonight", "wk": "week", "wknd": "weekend", "pls": "please"},
}


#: laughing emoji become a word before folding strips them, so the lexicons can read a joke (`laugh`)
_LAUGH = re.compile("[\U0001F602\U0001F923\U0001F606\U0001F605\U0001F61C\U0001F61D\U0001F92A\U0001F639]+")
_LIGATURES = str.maketrans({"’": "'", "ß": "ss", "œ": "oe", "æ": "ae"})


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def fold(text: str) -> str:
    """Casefold and strip accents (ß becomes ss, œ oe); what has no plain letter (emoji, other scripts) goes.

    Only the runs of non-ASCII letters are decomposed, each run once (remembered): decomposing is per letter, and the
    marks it leaves are dropped, so this is the whole text's NFKD without the cost of normalising every letter."""
    text = text.casefold()
    if text.isascii():
        return text
    return _NON_ASCII.sub(_folded_run, text)


def _folded_run(match: re.Match[str]) -> str:
    return _fold_run(match.group())


@lru_cache(maxsize=4096)
def _fold_run(run: str) -> str:
    return unicodedata.normalize("NFKD", run.translate(_LIGATURES)).encode("ascii", "ignore").decode("ascii")


class Analyser:
    """Folds, splits and stems for one language; stems are cached (a chat's vocabulary is small)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._stemmer = snowballstemmer.stemmer(STEMMERS[lang])
        self._spelling = CHAT_SPELLING.get(lang, {})
        self._contractions = CONTRACTIONS.get(lang, ())
        #: the last text split and its words: the lexicon, the check for a second language and the model each
        #: ask for the same message's words (in memory only, replaced by the next message)
        self._last: tuple[str, tuple[str, ...]] = ("", ())

    def words(self, text: str) -> list[str]:
        last_text, last_words = self._last
        if text == last_text:
            return list(last_words)
        out = self._split(text)
        self._last = (text, tuple(out))
        return out

    def _split(self, text: str) -> list[str]:
        folded = _folded(text)
        if self._contractions and "'" in folded:  # every contraction has one ("cant", "wont" without: CHAT_SPELLING)
            for pattern, replacement in self._contractions:
                folded = pattern.sub(replacement, folded)
            raws: Sequence[str] = _WORD.findall(folded.replace("'", " "))
        else:
            raws = _raw_words(text, folded)
        if not self._spelling:
            return list(raws)
        # each word or its chat spelling undone, some of which are two words ("kga": "ik ga"), all in C
        return " ".join(map(self._spelling.get, raws, raws)).split()

    def stem(self, word: str) -> str:
        return _stem(self.lang, word, self._stemmer)


#: the last text folded and split, shared by every language's analyser: a Brussels message is split for Dutch and for
#: French, and only the chat spellings differ (in memory only, replaced by the next message)
_LAST_FOLDED: list[tuple[str, str]] = [("", "")]
_LAST_RAW: list[tuple[str, tuple[str, ...]]] = [("", ())]


def _folded(text: str) -> str:
    last_text, folded = _LAST_FOLDED[0]
    if text != last_text:
        folded = fold(_LAUGH.sub(" emojilaugh ", text) if not text.isascii() else text)
        _LAST_FOLDED[0] = (text, folded)
    return folded


def _raw_words(text: str, folded: str) -> tuple[str, ...]:
    last_text, raws = _LAST_RAW[0]
    if text != last_text:
        raws = tuple(_WORD.findall(folded.replace("'", " ")))
        _LAST_RAW[0] = (text, raws)
    return raws


_STEM_CACHE: dict[tuple[str, str], str] = {}


def _stem(lang: str, word: str, stemmer: snowballstemmer.BaseStemmer) -> str:
    key = (lang, word)
    stem = _STEM_CACHE.get(key)
    if stem is None:
        stem = stemmer.stemWord(word)
        if len(_STEM_CACHE) < 200_000:
            _STEM_CACHE[key] = stem
    return stem


def preload_stems(lang: str, table: dict[str, str], stemmer: snowballstemmer.BaseStemmer | None = None) -> bool:
    """Fill the stem cache from a table written at build time (`stems.py`), so start-up stems nothing.

    The table is checked first on a sample of its words, stemmed now: a table written by another Snowball
    version is ignored rather than trusted (every stem is then computed as before). True when it was used.
    """
    if not table:
        return False
    stemmer = stemmer or analyser(lang)._stemmer
    words = sorted(table)
    for word in words[:: max(1, len(words) // 16)]:
        if stemmer.stemWord(word) != table[word]:
            return False
    for word, stem in table.items():
        if len(_STEM_CACHE) >= 200_000:
            break
        _STEM_CACHE.setdefault((lang, word), stem)
    return True


def cached_stems(lang: str) -> dict[str, str]:
    """The stems computed so far for a language (what a stem table holds)."""
    return {word: stem for (lg, word), stem in _STEM_CACHE.items() if lg == lang}


def clear_stems() -> None:
    _STEM_CACHE.clear()


@lru_cache(maxsize=8)
def analyser(lang: str) -> Analyser:
    return Analyser(lang)
