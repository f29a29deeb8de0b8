"""What a person typing a postcode or a place name gets back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from content.postcodes import DEFAULT_CSV, GERMAN_SPEAKING, REGION_OF_PROVINCE, PostcodeIndex

SHARED_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "be-postcodes.csv"


@pytest.fixture(scope="module")
def index() -> PostcodeIndex:
    return PostcodeIndex.load()


@pytest.mark.parametrize(
    "typed", ["1800", " 1800 ", "B-1800", "b 1800", "BE-1800", "1800 Vilvoorde", "Vilvoorde (1800)"]
)
def test_vilvoorde_is_found_however_the_postcode_is_typed(index: PostcodeIndex, typed: str) -> None:
    found = index.lookup(typed)
    assert found.reason == "found"
    assert found.place is not None
    assert (found.place.postcode, found.place.name, found.place.municipality) == ("1800", "Vilvoorde", "Vilvoorde")
    assert found.place.region == "flanders"
    assert found.place.communities == ("nl",)
    assert not found.place.east_belgium


def test_a_village_belongs_to_its_municipality(index: PostcodeIndex) -> None:
    peutie = index.lookup("1800 Peutie").place
    assert peutie is not None
    assert (peutie.name, peutie.municipality) == ("Peutie", "Vilvoorde")


@pytest.mark.parametrize(
    ("code", "name", "municipality"),
    [("4700", "Eupen", "Eupen"), ("4780", "Sankt Vith", "Sankt Vith"), ("4720", "Kelmis", "Kelmis"),
     ("4731", "Eynatten", "Raeren"), ("4761", "Rocherath", "Büllingen"), ("4791", "Thommen", "Burg-Reuland")],
)
def test_the_german_speaking_area_gets_german_names_and_the_de_community(
    index: PostcodeIndex, code: str, name: str, municipality: str
) -> None:
    place = index.get(code)
    assert place is not None
    assert (place.name, place.municipality) == (name, municipality)
    assert place.communities == ("de",)
    assert place.east_belgium
    assert place.region == "wallonia"
    assert place.region_key == "east-belgium"


def test_exactly_the_nine_german_speaking_municipalities_are_de(index: PostcodeIndex) -> None:
    german = {p.municipality for p in index if p.east_belgium}
    assert german == set(GERMAN_SPEAKING.values())
    assert len(german) == 9
    malmedy = index.get("4960")
    assert malmedy is not None and malmedy.communities == ("fr",)  # French-speaking, though next door


@pytest.mark.parametrize("code", ["1000", "1030", "1080", "1120", "1210"])
def test_brussels_is_bilingual(index: PostcodeIndex, code: str) -> None:
    place = index.get(code)
    assert place is not None
    assert place.region == "brussels"
    assert place.communities == ("nl", "fr")
    assert place.province is None


def test_the_nineteen_brussels_communes(index: PostcodeIndex) -> None:
    communes = {p.municipality for p in index if p.region == "brussels"}
    assert len(communes) == 19
    assert index.get("1120") is not None and index.get("1120").municipality == "Bruxelles"  # type: ignore[union-attr]
    assert index.get("1080").municipality_in("nl") == "Sint-Jans-Molenbeek"  # type: ignore[union-attr]


def test_liege_is_walloon_and_french(index: PostcodeIndex) -> None:
    found = index.lookup("4000")
    assert found.place is not None
    assert (found.place.name, found.place.region, found.place.communities) == ("Liège", "wallonia", ("fr",))


@pytest.mark.parametrize(("code", "municipality"), [("2100", "Antwerpen"), ("2660", "Antwerpen"), ("5100", "Namur"),
                                                     ("8310", "Brugge"), ("9040", "Gent"), ("6001", "Charleroi")])
def test_city_districts_belong_to_their_city(index: PostcodeIndex, code: str, municipality: str) -> None:
    place = index.get(code)
    assert place is not None and place.municipality == municipality


@pytest.mark.parametrize("typo", ["18000", "1801"])
def test_a_postcode_that_does_not_exist_gets_suggestions(index: PostcodeIndex, typo: str) -> None:
    found = index.lookup(typo)
    assert found.place is None
    assert found.reason == "unknown_postcode"
    assert "1800" in [p.postcode for p in found.suggestions]
    assert found.suggestions[0].postcode == "1800"
    assert len(found.suggestions) <= 5


def test_a_special_postcode_is_not_a_place(index: PostcodeIndex) -> None:
    found = index.lookup("1008")
    assert found.place is None
    assert found.reason == "not_a_place"
    assert found.special == "Chambre des Représentants"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("vilvoorde", "1800"), ("Liège", "4000"), ("liege", "4000"), ("LUIK", "4000"), ("Lüttich", "4000"),
     ("Sankt Vith", "4780"), ("st-vith", "4780"), ("St. Vith", "4780"), ("Saint-Vith", "4780"),
     ("Brussel", "1000"), ("Bruxelles", "1000"), ("Brussels", "1000"),
     ("Antwerpen", "2000"), ("Anvers", "2000"), ("Antwerp", "2000"),
     ("Gent", "9000"), ("Gand", "9000"), ("Ghent", "9000"),
     ("Sint-Jans-Molenbeek", "1080"), ("Molenbeek", "1080"), ("Schaarbeek", "1030"), ("Elsene", "1050"),
     ("Kelmis", "4720"), ("La Calamine", "4720"), ("Büllingen", "4760"), ("Buellingen", "4760"),
     ("Voeren", "3790"), ("Fourons", "3790")],
)
def test_a_name_typed_instead_of_a_number(index: PostcodeIndex, typed: str, code: str) -> None:
    found = index.lookup(typed)
    assert found.reason == "by_name"
    assert found.place is not None and found.place.postcode == code


def test_an_ambiguous_name_offers_the_choices(index: PostcodeIndex) -> None:
    found = index.lookup("Woluwe")
    assert found.place is None
    assert found.reason == "ambiguous_name"
    assert {p.municipality for p in found.suggestions} == {"Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre"}


def test_a_municipality_wins_over_a_village_of_the_same_name(index: PostcodeIndex) -> None:
    found = index.lookup("Kapellen")
    assert found.place is not None and found.place.postcode == "2950"
    assert [p.municipality for p in found.suggestions] == ["Glabbeek"]


@pytest.mark.parametrize("typo", ["vilvoord", "Antwerpn", "Charelroi"])
def test_a_misspelt_name_gets_suggestions(index: PostcodeIndex, typo: str) -> None:
    found = index.lookup(typo)
    assert found.place is None
    assert found.reason == "no_match"
    assert found.suggestions


@pytest.mark.parametrize("typed", ["", "   ", "hello there", "😀"])
def test_nonsense_finds_nothing(index: PostcodeIndex, typed: str) -> None:
    found = index.lookup(typed)
    assert found.place is None
    assert found.reason == "no_match"


def test_names_are_cased_as_people_write_them(index: PostcodeIndex) -> None:
    assert index.get("2860").name == "Sint-Katelijne-Waver"  # type: ignore[union-attr]
    assert index.get("1420").name == "Braine-l'Alleud"  # type: ignore[union-attr]
    assert index.get("2220").name == "Heist-op-den-Berg"  # type: ignore[union-attr]
    assert index.get("1340").name == "Ottignies-Louvain-la-Neuve"  # type: ignore[union-attr]


def test_every_place_in_the_list_maps_to_a_region_and_a_municipality(index: PostcodeIndex) -> None:
    with DEFAULT_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    municipalities = index.municipalities
    places = [r for r in rows if r[3].strip()]
    assert places
    for code, _name, _sub, province in places:
        place = index.get(code)
        assert place is not None, code
        assert place.region == REGION_OF_PROVINCE[province.strip()]
        assert place.municipality in municipalities
    specials = {r[0] for r in rows if not r[3].strip()} - {r[0] for r in places}
    for code in specials:
        assert index.lookup(code).reason == "not_a_place"
    assert len(municipalities) == 589  # the list predates the 2019 and 2025 mergers


def test_the_shipped_list_is_the_shared_one() -> None:
    if not SHARED_CSV.exists():
        pytest.skip("../shared is not beside the project")
    assert DEFAULT_CSV.read_bytes() == SHARED_CSV.read_bytes()


def test_loading_twice_is_free() -> None:
    assert PostcodeIndex.load() is PostcodeIndex.load()
