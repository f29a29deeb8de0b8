"""The order services come in and the language they speak, for every worry, place and language."""

from __future__ import annotations

import pytest

from content.directory import LANGS, WORRY_TOPICS, Contact, Directory
from content.postcodes import Place, PostcodeIndex

#: what the conversation adds after the person's own topics (flows.conversation.show_contacts)
GENERAL = ["parenting", "welfare", "listening", "radicalisation"]


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load()


@pytest.fixture(scope="module")
def postcodes() -> PostcodeIndex:
    return PostcodeIndex.load()


def ids(contacts: list[Contact]) -> list[str]:
    return [c.id for c in contacts]


def select(directory: Directory, postcodes: PostcodeIndex, code: str, lang: str, *topics: str,
           audience: str = "parent") -> list[str]:
    return ids(directory.select(place=postcodes.get(code), lang=lang, audience=audience,
                                topics=[*topics, "dialogue", "signals", *GENERAL]))


@pytest.mark.parametrize(
    ("code", "lang", "worry", "first"),
    [
        ("9000", "nl", "drugs", "druglijn"),
        ("9000", "nl", "violence-home", "hulplijn-1712"),
        ("9000", "nl", "self-harm", "zelfmoordlijn-1813"),
        ("9000", "nl", "missing", "child-focus"),
        ("2000", "nl", "drugs", "druglijn"),
        ("1000", "fr", "self-harm", "centre-prevention-suicide"),
        ("5000", "fr", "bullying", "ecoute-enfants"),
        ("5000", "fr", "violence-home", "aide-jeunesse-saj"),
        ("5000", "fr", "departure", "caprev"),
        ("4000", "fr", "drugs", "infor-drogues"),
        ("4700", "de", "self-harm", "telefonhilfe-108"),
        ("4700", "de", "drugs", "asl-eupen"),
        ("9000", "nl", "bullying", "clb"),
    ],
)
def test_the_persons_own_worry_comes_first(
    directory: Directory, postcodes: PostcodeIndex, code: str, lang: str, worry: str, first: str
) -> None:
    found = select(directory, postcodes, code, lang, "other-worries", worry)
    assert found[0] == first, found


@pytest.mark.parametrize("code", ["9000", "2000", "1800", "1080", "6000", "4800"])
@pytest.mark.parametrize("lang", LANGS)
def test_a_radicalisation_service_is_never_first_by_default(
    directory: Directory, postcodes: PostcodeIndex, code: str, lang: str
) -> None:
    found = directory.select(place=postcodes.get(code), lang=lang, audience="parent", topics=GENERAL)
    assert not found[0].specialised_in_radicalisation, ids(found)
    assert any(c.specialised_in_radicalisation for c in found), "it fits, so it stays in the list"


def _one_place_per_kind(postcodes: PostcodeIndex) -> dict[tuple[tuple[str, ...], str], Place]:
    kinds: dict[tuple[tuple[str, ...], str], Place] = {}
    for p in postcodes:
        kinds.setdefault((p.communities, p.region_key), p)
    return kinds


def test_every_postcode_and_language_gets_a_service_in_that_language(
    directory: Directory, postcodes: PostcodeIndex
) -> None:
    missing: list[str] = []
    for place in postcodes:
        for lang in LANGS:
            for topics in (GENERAL, ["drugs", *GENERAL], ["youth", "listening", "suicide"]):
                audience = "young" if "youth" in topics else "parent"
                found = directory.select(place=place, lang=lang, audience=audience, topics=topics)
                if not any(lang in c.languages for c in found):
                    missing.append(f"{place.postcode} {place.name} {lang} {topics[0]}")
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
def test_each_worry_reaches_a_fitting_service_everywhere(
    directory: Directory, postcodes: PostcodeIndex, lang: str
) -> None:
    for (communities, region), place in _one_place_per_kind(postcodes).items():
        for worry in WORRY_TOPICS:
            found = directory.select(place=place, lang=lang, audience="parent", topics=[worry, *GENERAL])
            fitting = [i for i, c in enumerate(found) if worry in c.topics]
            if not fitting:
                continue  # a gap the content check names (see test_content_check)
            assert fitting[0] == 0 or lang not in found[fitting[0]].languages, (communities, region, worry, ids(found))


def test_facility_municipalities_add_the_persons_community_lines(
    directory: Directory, postcodes: PostcodeIndex
) -> None:
    assert "tele-accueil" in select(directory, postcodes, "1640", "fr")
    assert "tele-accueil" in select(directory, postcodes, "3790", "fr")
    dutch_in_comines = select(directory, postcodes, "7780", "nl")
    assert "tele-onthaal" in dutch_in_comines and "opvoedingslijn" in dutch_in_comines
    assert "telefonhilfe-108" in select(directory, postcodes, "1000", "de")
    # services bound to their own region are not sent across it (a PMS centre of Wallonia to Voeren)
    assert "centres-pms" not in select(directory, postcodes, "3790", "fr", "bullying")


def test_an_english_speaker_gets_the_english_line_and_no_one_else_does(
    directory: Directory, postcodes: PostcodeIndex
) -> None:
    assert "community-help-service" in select(directory, postcodes, "1000", "en")
    for lang in ("nl", "fr", "de"):
        assert "community-help-service" not in select(directory, postcodes, "1000", lang)
