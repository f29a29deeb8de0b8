"""Place names in the person's language, and every official name and common exonym found (issue 12)."""

from __future__ import annotations

import pytest

from content.postcodes import PostcodeIndex


@pytest.fixture(scope="module")
def postcodes() -> PostcodeIndex:
    return PostcodeIndex.load()


@pytest.mark.parametrize(
    ("typed", "postcode"),
    [
        ("Ronse", "9600"), ("Renaix", "9600"),
        ("Komen", "7780"), ("Comines", "7780"), ("Komen-Waasten", "7780"), ("Comines-Warneton", "7780"),
        ("Weismes", "4950"), ("Waimes", "4950"),
        ("Vloesberg", "7880"), ("Flobecq", "7880"),
        ("Voeren", "3790"), ("Fourons", "3790"),
        ("Sint-Genesius-Rode", "1640"), ("Rhode-Saint-Genèse", "1640"),
        ("Edingen", "7850"), ("Moeskroen", "7700"), ("Lessen", "7860"), ("Tirlemont", "3300"),
        ("Termonde", "9200"), ("Wezet", "4600"), ("Eigenbrakel", "1420"),
    ],
)
def test_every_official_name_and_exonym_is_found(postcodes: PostcodeIndex, typed: str, postcode: str) -> None:
    found = postcodes.lookup(typed)
    assert found.place is not None, found
    assert found.place.postcode == postcode


@pytest.mark.parametrize(
    ("postcode", "names"),
    [
        ("9600", {"nl": "Ronse", "fr": "Renaix", "de": "Ronse", "en": "Ronse"}),
        ("7780", {"nl": "Komen-Waasten", "fr": "Comines-Warneton"}),
        ("4950", {"nl": "Weismes", "fr": "Waimes", "de": "Weismes"}),
        ("7880", {"nl": "Vloesberg", "fr": "Flobecq"}),
        ("1640", {"nl": "Sint-Genesius-Rode", "fr": "Rhode-Saint-Genèse"}),
        ("3790", {"nl": "Voeren", "fr": "Fourons"}),
    ],
)
def test_the_place_is_shown_in_the_persons_language(
    postcodes: PostcodeIndex, postcode: str, names: dict[str, str]
) -> None:
    place = postcodes.get(postcode)
    assert place is not None
    for lang, name in names.items():
        assert place.municipality_in(lang) == name
