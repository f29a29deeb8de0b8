"""Belgian postcodes and place names, so a person can say where they live and get local contacts.

The table is bpost's list (`data/be-postcodes.csv`): `postcode,PLACE,sub-municipality Oui/Non,province`.
Rows without a province are special postcodes (parliaments, broadcasters, sorting centres), not places.
The list gives no municipality for a sub-municipality, so it is derived: the main-municipality row of the
same postcode, else the nearest preceding main-municipality row of the same province; the handful of
places where that rule picks the wrong neighbour are corrected in `_MUNICIPALITY_FIXES`.

The list predates the municipal mergers of 2019 and 2025 (589 municipalities): "Puurs" and "Sint-Amands"
are still two municipalities here. Local contacts name municipalities as this module spells them.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_CSV = Path(__file__).parent / "data" / "be-postcodes.csv"

REGION_OF_PROVINCE: dict[str, str] = {
    "Anvers": "flanders",
    "Limbourg": "flanders",
    "Flandre-Orientale": "flanders",
    "Flandre-Occidentale": "flanders",
    "Brabant Flamand": "flanders",
    "Brabant Wallon": "wallonia",
    "Hainaut": "wallonia",
    "Namur": "wallonia",
    "Luxembourg": "wallonia",
    "Liège": "wallonia",
    "Bruxelles (19 communes)": "brussels",
}
BRUSSELS_PROVINCE = "Bruxelles (19 communes)"

#: the German-speaking Community's nine municipalities, as the CSV spells them → their German names
GERMAN_SPEAKING: dict[str, str] = {
    "EUPEN": "Eupen",
    "LONTZEN": "Lontzen",
    "LA CALAMINE": "Kelmis",
    "RAEREN": "Raeren",
    "BUTGENBACH": "Bütgenbach",
    "BULLANGE": "Büllingen",
    "AMBLÈVE": "Amel",
    "SAINT-VITH": "Sankt Vith",
    "BURG-REULAND": "Burg-Reuland",
}

#: places the CSV names in French although they lie in Flanders → their official Dutch names
_DUTCH_NAMES: dict[str, str] = {
    "BIÉVÈNE": "Bever",
    "RHODE-SAINT-GENÈSE": "Sint-Genesius-Rode",
    "FOURONS": "Voeren",
    "Fouron-Saint-Martin": "Sint-Martens-Voeren",
    "Fouron-Saint-Pierre": "Sint-Pieters-Voeren",
    "Fouron-Le-Comte": "'s-Gravenvoeren",
    "Mouland": "Moelingen",
    "ESPIERRES-HELCHIN": "Spiere-Helkijn",
    "Espierres": "Spiere",
    "Helchin": "Helkijn",
    "MESSINES": "Mesen",
    "RENAIX": "Ronse",
}

#: sub-municipalities whose postcode follows another municipality's in the list: (postcode, place) → municipality
_MUNICIPALITY_FIXES: dict[tuple[str, str], str] = {
    ("1120", "Neder-Over-Heembeek"): "BRUXELLES",
    ("1130", "Haren"): "BRUXELLES",
    **{(pc, name): "ANTWERPEN" for pc, name in [
        ("2100", "Deurne"), ("2140", "Borgerhout"), ("2170", "Merksem"), ("2180", "Ekeren"),
        ("2600", "Berchem"), ("2610", "Wilrijk"), ("2660", "Hoboken"),
    ]},
    **{(pc, name): "NAMUR" for pc, name in [
        ("5100", "Dave"), ("5100", "Jambes"), ("5100", "Naninne"), ("5100", "Wépion"), ("5100", "Wierde"),
        ("5101", "Erpent"), ("5101", "Lives-Sur-Meuse"), ("5101", "Loyers"),
    ]},
    ("5576", "Froidfontaine"): "BEAURAING",
    **{(pc, name): "BRUGGE" for pc, name in [
        ("8200", "Sint-Andries"), ("8200", "Sint-Michiels"), ("8310", "Assebroek"), ("8310", "Sint-Kruis"),
        ("8380", "Dudzele"), ("8380", "Lissewege"), ("8380", "Zeebrugge"),
    ]},
    ("8958", "Loker"): "HEUVELLAND",
}

#: the Dutch names of the Brussels communes and places (the CSV gives the French ones)
_BRUSSELS_DUTCH: dict[str, str] = {
    "Bruxelles": "Brussel",
    "Laeken": "Laken",
    "Schaerbeek": "Schaarbeek",
    "Ixelles": "Elsene",
    "Saint-Gilles": "Sint-Gillis",
    "Molenbeek-Saint-Jean": "Sint-Jans-Molenbeek",
    "Berchem-Sainte-Agathe": "Sint-Agatha-Berchem",
    "Woluwe-Saint-Pierre": "Sint-Pieters-Woluwe",
    "Auderghem": "Oudergem",
    "Watermael-Boitsfort": "Watermaal-Bosvoorde",
    "Uccle": "Ukkel",
    "Forest": "Vorst",
    "Woluwe-Saint-Lambert": "Sint-Lambrechts-Woluwe",
    "Saint-Josse-ten-Noode": "Sint-Joost-ten-Node",
}

#: names of big municipalities in the other languages: municipality → {lang: name}
_EXONYMS: dict[str, dict[str, str]] = {
    "Bruxelles": {"nl": "Brussel", "fr": "Bruxelles", "de": "Brüssel", "en": "Brussels"},
    "Antwerpen": {"fr": "Anvers", "en": "Antwerp"},
    "Gent": {"fr": "Gand", "en": "Ghent"},
    "Liège": {"nl": "Luik", "de": "Lüttich"},
    "Brugge": {"fr": "Bruges", "de": "Brügge", "en": "Bruges"},
    "Mechelen": {"fr": "Malines", "de": "Mecheln"},
    "Leuven": {"fr": "Louvain", "de": "Löwen"},
    "Namur": {"nl": "Namen"},
    "Mons": {"nl": "Bergen"},
    "Kortrijk": {"fr": "Courtrai"},
    "Tournai": {"nl": "Doornik"},
    "Oostende": {"fr": "Ostende", "de": "Ostende", "en": "Ostend"},
    "Aalst": {"fr": "Alost"},
    "Ieper": {"fr": "Ypres", "en": "Ypres"},
    "Vilvoorde": {"fr": "Vilvorde"},
    "Halle": {"fr": "Hal"},
    "Tongeren": {"fr": "Tongres"},
    "Sint-Truiden": {"fr": "Saint-Trond"},
    "Ronse": {"fr": "Renaix"},
    "Geraardsbergen": {"fr": "Grammont"},
    "Lier": {"fr": "Lierre"},
    "Nivelles": {"nl": "Nijvel"},
    "Wavre": {"nl": "Waver"},
    "Arlon": {"nl": "Aarlen"},
    "Waremme": {"nl": "Borgworm"},
    "Mouscron": {"nl": "Moeskroen"},
    "Comines-Warneton": {"nl": "Komen-Waasten"},
    "Comines": {"nl": "Komen"},
    "Warneton": {"nl": "Waasten"},
    "Enghien": {"nl": "Edingen"},
    "Flobecq": {"nl": "Vloesberg"},
    "Lessines": {"nl": "Lessen"},
    "Ath": {"nl": "Aat"},
    "Soignies": {"nl": "Zinnik"},
    "Tubize": {"nl": "Tubeke"},
    "Braine-l'Alleud": {"nl": "Eigenbrakel"},
    "Braine-le-Comte": {"nl": "'s-Gravenbrakel"},
    "Jodoigne": {"nl": "Geldenaken"},
    "Hannut": {"nl": "Hannuit"},
    "Huy": {"nl": "Hoei"},
    "Visé": {"nl": "Wezet"},
    "Waimes": {"nl": "Weismes", "de": "Weismes"},
    "Plombières": {"nl": "Blieberg", "de": "Bleiberg"},
    "Bastogne": {"nl": "Bastenaken", "de": "Bastnach"},
    "Sint-Genesius-Rode": {"fr": "Rhode-Saint-Genèse"},
    "Voeren": {"fr": "Fourons"},
    "Spiere-Helkijn": {"fr": "Espierres-Helchin"},
    "Mesen": {"fr": "Messines"},
    "Bever": {"fr": "Biévène"},
    "Tienen": {"fr": "Tirlemont"},
    "Zoutleeuw": {"fr": "Léau"},
    "Dendermonde": {"fr": "Termonde"},
    "Sint-Niklaas": {"fr": "Saint-Nicolas"},
    "Oudenaarde": {"fr": "Audenarde"},
    "Roeselare": {"fr": "Roulers"},
    "Menen": {"fr": "Menin"},
    "Wervik": {"fr": "Wervicq"},
    "Veurne": {"fr": "Furnes"},
    "Diksmuide": {"fr": "Dixmude"},
    "Nieuwpoort": {"fr": "Nieuport"},
    "Poperinge": {"fr": "Poperinghe"},
    "Temse": {"fr": "Tamise"},
    "Bilzen": {"fr": "Bilsen"},
    "Kelmis": {"fr": "La Calamine"},
    "Bütgenbach": {"fr": "Butgenbach"},
    "Büllingen": {"fr": "Bullange"},
    "Amel": {"fr": "Amblève"},
    "Sankt Vith": {"fr": "Saint-Vith"},
}

#: extra spellings people type, → municipality (as named in this module); a list where a name is ambiguous
_EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "Brussel-Stad": ("Bruxelles",),
    "Bruxelles-Ville": ("Bruxelles",),
    "Stad Brussel": ("Bruxelles",),
    "Ville de Bruxelles": ("Bruxelles",),
    "City of Brussels": ("Bruxelles",),
    "Molenbeek": ("Molenbeek-Saint-Jean",),
    "Sint-Joost": ("Saint-Josse-ten-Noode",),
    "Saint-Josse": ("Saint-Josse-ten-Noode",),
    "Woluwe": ("Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre"),
    "Sint-Agatha-Berchem": ("Berchem-Sainte-Agathe",),
    "Antwerp": ("Antwerpen",),
    "Luettich": ("Liège",),
    "Bruessel": ("Bruxelles",),
}

_PARTICLES = frozenset(
    "de den der het op ter ten te aan bij in sur sous lez lès les la le en au aux à du des devant".split()
)
_POSTCODE_PREFIX = re.compile(r"^\s*(?:b|be|bel)\s*[-‐–.]?\s*(?=\d)", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_MAX_INPUT = 80


@dataclass(frozen=True, slots=True)
class Place:
    """One place a postcode stands for, with what the contact search needs to know about it."""

    postcode: str
    name: str
    municipality: str
    province: str | None
    region: str
    communities: tuple[str, ...]

    @property
    def east_belgium(self) -> bool:
        """True in the German-speaking Community, whose services differ from the rest of Wallonia."""
        return "de" in self.communities

    @property
    def region_key(self) -> str:
        """The region as contacts name it: east-belgium for the German-speaking area."""
        return "east-belgium" if self.east_belgium else self.region

    @property
    def is_municipality(self) -> bool:
        """True for the main row of a municipality (not a sub-municipality)."""
        return self.name == self.municipality

    def name_in(self, lang: str) -> str:
        """The place's name in a person's language where it differs (Brussel, Anvers, Lüttich)."""
        return _translate_name(self.name, self.region, lang)

    def municipality_in(self, lang: str) -> str:
        """The municipality's name in a person's language where it differs."""
        return _translate_name(self.municipality, self.region, lang)


@dataclass(frozen=True, slots=True)
class PostcodeLookup:
    """What a typed postcode or place name turned out to be; `suggestions` back a "did you mean…"."""

    place: Place | None
    suggestions: list[Place] = field(default_factory=list)
    reason: str = "no_match"
    special: str | None = None  # the institution behind a special postcode (reason "not_a_place")

    @property
    def found(self) -> bool:
        return self.place is not None


def _translate_name(name: str, region: str, lang: str) -> str:
    exonyms = _EXONYMS.get(name)
    if exonyms and lang in exonyms:
        return exonyms[lang]
    if region == "brussels" and lang == "nl":
        return _BRUSSELS_DUTCH.get(name, name)
    return name


def normalise_name(text: str) -> str:
    """Fold a typed name to a search key: no accents, lower case, words split on any punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("ß", "ss")
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    return " ".join(words)


def _name_variants(key: str) -> set[str]:
    """A key plus its abbreviated forms (sint/saint/sankt → st, sainte → ste), as people type them."""
    variants = {key}
    words = key.split()
    short = {"sint": "st", "saint": "st", "sankt": "st", "sainte": "ste"}
    if any(w in short for w in words):
        variants.add(" ".join(short.get(w, w) for w in words))
    return variants


def _spell_out_umlauts(name: str) -> str:
    return name.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")


def nice_case(name: str) -> str:
    """Case the list's names as people write them: "SINT-KATELIJNE-WAVER" → "Sint-Katelijne-Waver",
    "Jemeppe-Sur-Meuse" → "Jemeppe-sur-Meuse"; French-only names of Flemish places get their Dutch name."""
    name = " ".join(name.split())
    if name in _DUTCH_NAMES:
        return _DUTCH_NAMES[name]
    if name in GERMAN_SPEAKING:
        return GERMAN_SPEAKING[name]
    parts = re.split(r"([ \-])", name)
    out: list[str] = []
    first = True
    for part in parts:
        if part in (" ", "-") or not part:
            out.append(part)
            continue
        word = part.lower()
        prefix = ""
        if len(word) > 2 and word[1] == "'" and word[0] in "ld":
            prefix, word = word[:2], word[2:]
            prefix = prefix.upper() if first else prefix
        elif not first and word in _PARTICLES:
            out.append(word)
            continue
        if word.startswith("ij"):
            word = "IJ" + word[2:]
        else:
            word = word[:1].upper() + word[1:]
        out.append(prefix + word)
        first = False
    return "".join(out)


class PostcodeIndex:
    """Every Belgian postcode and place name, looked up with a dict per call."""

    def __init__(self, places: Iterable[tuple[Place, bool]], specials: dict[str, str]) -> None:
        self._by_code: dict[str, list[Place]] = {}
        self._main: dict[str, Place] = {}
        self._specials = dict(specials)
        self._by_name: dict[str, list[Place]] = {}
        self._municipality_main: dict[str, Place] = {}
        for place, is_main in places:
            self._by_code.setdefault(place.postcode, []).append(place)
            if is_main and place.postcode not in self._main:
                self._main[place.postcode] = place
            if is_main and place.municipality not in self._municipality_main:
                self._municipality_main[place.municipality] = place
        for code, places_of_code in self._by_code.items():
            self._main.setdefault(code, places_of_code[0])
        self._codes = sorted(self._by_code)
        self._by_prefix: dict[str, list[str]] = {}
        for code in self._codes:
            self._by_prefix.setdefault(code[:3], []).append(code)
        self._build_names()
        self._name_keys = sorted(self._by_name)

    # ---- building
    def _add_name(self, name: str, place: Place) -> None:
        for key in _name_variants(normalise_name(name)):
            bucket = self._by_name.setdefault(key, [])
            if place not in bucket:
                bucket.append(place)

    def _build_names(self) -> None:
        for municipality, main in self._municipality_main.items():
            self._add_name(municipality, main)
        for places_of_code in self._by_code.values():
            for place in places_of_code:
                if place.name != place.municipality:
                    self._add_name(place.name, place)
        for csv_name, dutch in _DUTCH_NAMES.items():
            for place in self._places_named(dutch):
                self._add_name(csv_name, place)
        for csv_name, german in GERMAN_SPEAKING.items():
            if german in self._municipality_main:
                self._add_name(csv_name, self._municipality_main[german])
        for french, dutch in _BRUSSELS_DUTCH.items():
            for place in self._places_named(french):
                self._add_name(dutch, place)
        for municipality, names in _EXONYMS.items():
            for other in names.values():
                self._add_alias(other, municipality)
        for alias, municipalities in _EXTRA_ALIASES.items():
            for municipality in municipalities:
                self._add_alias(alias, municipality)
        # umlauts typed as ue/oe/ae (Buellingen, Luettich); without the dots they already fold to the same key
        for place in {p for bucket in self._by_name.values() for p in bucket}:
            if any(ch in place.name for ch in "äöü"):
                self._add_name(_spell_out_umlauts(place.name), place)
        for municipality, names in _EXONYMS.items():
            for other in names.values():
                if any(ch in other for ch in "äöü"):
                    self._add_alias(_spell_out_umlauts(other), municipality)

    def _add_alias(self, alias: str, municipality: str) -> None:
        """Another name for a municipality, or for a place within one (Komen for the village of Comines)."""
        for target in self._places_named(municipality):
            self._add_name(alias, target)

    def _places_named(self, name: str) -> list[Place]:
        main = self._municipality_main.get(name)
        if main is not None:
            return [main]
        return [p for ps in self._by_code.values() for p in ps if p.name == name]

    # ---- loading
    @classmethod
    def load(cls, path: Path | None = None) -> PostcodeIndex:
        """The index of the shipped CSV (or another), parsed once per path and then shared."""
        return _load_cached((path or DEFAULT_CSV).resolve())

    @classmethod
    def from_rows(cls, rows: Iterable[list[str]]) -> PostcodeIndex:
        """Build the index from CSV rows; raises ValueError on a row it cannot place."""
        specials: dict[str, str] = {}
        parsed: list[tuple[str, str, bool, str]] = []
        for lineno, row in enumerate(rows, start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 4:
                raise ValueError(f"postcode list line {lineno}: expected 4 columns, got {len(row)}")
            code, raw_name, sub, province = (c.strip() for c in row)
            if not re.fullmatch(r"\d{4}", code):
                raise ValueError(f"postcode list line {lineno}: bad postcode {code!r}")
            if not province:
                specials.setdefault(code, raw_name)
                continue
            if province not in REGION_OF_PROVINCE:
                raise ValueError(f"postcode list line {lineno}: unknown province {province!r}")
            parsed.append((code, raw_name, sub.lower() == "non", province))

        by_code: dict[str, list[tuple[str, str, bool, str]]] = {}
        for item in parsed:
            by_code.setdefault(item[0], []).append(item)
        last_main: dict[str, str] = {}
        places: list[tuple[Place, bool]] = []
        for code, raw_name, is_main, province in parsed:
            if is_main:
                last_main[province] = raw_name
                municipality_raw = raw_name
            else:
                same_code = [r for r in by_code[code] if r[2]]
                municipality_raw = (
                    _MUNICIPALITY_FIXES.get((code, raw_name))
                    or (same_code[0][1] if same_code else None)
                    or last_main.get(province)
                    or raw_name
                )
            region = REGION_OF_PROVINCE[province]
            if municipality_raw in GERMAN_SPEAKING:
                communities: tuple[str, ...] = ("de",)
            elif region == "brussels":
                communities = ("nl", "fr")
            elif region == "flanders":
                communities = ("nl",)
            else:
                communities = ("fr",)
            place = Place(
                postcode=code,
                name=nice_case(raw_name),
                municipality=nice_case(municipality_raw),
                province=None if province == BRUSSELS_PROVINCE else province,
                region=region,
                communities=communities,
            )
            places.append((place, is_main))
        return cls(places, specials)

    # ---- queries
    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Place]:
        """Every place (several per postcode where the postcode covers several villages)."""
        for code in self._codes:
            yield from self._by_code[code]

    @property
    def municipalities(self) -> frozenset[str]:
        return frozenset(self._municipality_main)

    def municipality(self, name: str) -> Place | None:
        """The main place of a municipality, by its name as this index spells it."""
        return self._municipality_main.get(name)

    def get(self, postcode: str) -> Place | None:
        """The main place of a postcode (the municipality where it has a row of its own)."""
        return self._main.get(postcode)

    def places(self, postcode: str) -> tuple[Place, ...]:
        return tuple(self._by_code.get(postcode, ()))

    def special(self, postcode: str) -> str | None:
        """The institution behind a special postcode (1008 → Chambre des Représentants)."""
        return self._specials.get(postcode)

    def lookup(self, text: str) -> PostcodeLookup:
        """Read what a person typed ("1800", "B-1800", "1800 Vilvoorde", "liege") as a place."""
        text = (text or "")[:_MAX_INPUT]
        stripped = _POSTCODE_PREFIX.sub("", text)
        digits = _DIGITS.search(stripped)
        name_part = stripped
        if digits:
            name_part = (stripped[: digits.start()] + " " + stripped[digits.end():]).strip(" ,;:()-/")
        name_key = normalise_name(name_part)
        if digits:
            code = digits.group()
            if len(code) == 4 and code in self._by_code:
                return PostcodeLookup(self._pick(code, name_key), [], "found")
            if len(code) == 4 and code in self._specials:
                return PostcodeLookup(None, [], "not_a_place", special=self._specials[code])
            if name_key:
                by_name = self._lookup_name(name_key)
                if by_name.place is not None:
                    return by_name
            return PostcodeLookup(None, self._close_codes(code), "unknown_postcode")
        if not name_key:
            return PostcodeLookup(None, [], "no_match")
        return self._lookup_name(name_key)

    # ---- helpers
    def _pick(self, code: str, name_key: str) -> Place:
        if name_key:
            for place in self._by_code[code]:
                if name_key in _name_variants(normalise_name(place.name)):
                    return place
        return self._main[code]

    def _lookup_name(self, key: str) -> PostcodeLookup:
        candidates = self._by_name.get(key)
        if candidates:
            return self._resolve(candidates)
        close = difflib.get_close_matches(key, self._name_keys, n=5, cutoff=0.75)
        suggestions: list[Place] = []
        for match in close:
            for place in self._by_name[match]:
                if place not in suggestions:
                    suggestions.append(place)
        return PostcodeLookup(None, suggestions[:5], "no_match")

    def _resolve(self, candidates: list[Place]) -> PostcodeLookup:
        if len(candidates) == 1:
            return PostcodeLookup(candidates[0], [], "by_name")
        mains = [p for p in candidates if p.is_municipality]
        if len(mains) == 1:
            return PostcodeLookup(mains[0], [p for p in candidates if p is not mains[0]], "by_name")
        return PostcodeLookup(None, list(candidates), "ambiguous_name")

    def _close_codes(self, code: str, limit: int = 5) -> list[Place]:
        """Existing postcodes a typo may have meant: same first three digits, one digit off, swapped."""
        candidates: set[str] = set()
        if len(code) == 4:
            candidates.update(self._by_prefix.get(code[:3], ()))
            for i in range(4):
                for d in "0123456789":
                    candidates.add(code[:i] + d + code[i + 1:])
            for i in range(3):
                candidates.add(code[:i] + code[i + 1] + code[i] + code[i + 2:])
        elif len(code) == 5:
            candidates.update(code[:i] + code[i + 1:] for i in range(5))
        elif len(code) == 3:
            candidates.update(self._by_prefix.get(code, ()))
            for i in range(4):
                for d in "0123456789":
                    candidates.add(code[:i] + d + code[i:])
        candidates = {c for c in candidates if c in self._by_code and c != code}
        if not candidates:
            return []
        try:
            target = int(code[:4].ljust(4, "0"))
        except ValueError:  # pragma: no cover - digits only
            target = 0
        prefix = code[:3]

        def rank(c: str) -> tuple[int, int]:
            return (0 if c[:3] == prefix else 1, abs(int(c) - target))

        return [self._main[c] for c in sorted(candidates, key=rank)[:limit]]


@lru_cache(maxsize=4)
def _load_cached(path: Path) -> PostcodeIndex:
    with path.open(encoding="utf-8", newline="") as handle:
        return PostcodeIndex.from_rows(csv.reader(handle))
