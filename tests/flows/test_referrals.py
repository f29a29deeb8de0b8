"""Which services a person is shown at the end of a conversation: their own worry first, in their language."""

from __future__ import annotations

import pytest

from flows.engine import Engine
from tests.scripted import ScriptedUser


def contacts_for(engine: Engine, locale: str, postcode: str, *, worries: tuple[str, ...] = (),
                 observed: tuple[str, ...] = (), age: str = "12-15") -> list[str]:
    """Walk a parent through the questions and return the blocks of the services shown, in order."""
    u = ScriptedUser(engine, locale)
    u.begin("parent", "young_person")
    u.press("go")
    u.press(f"age:{age}")
    for o in observed:
        u.press(f"tick:{o}")
    u.press("go")
    for w in worries:
        u.press(f"tick:{w}")
    u.press("go")
    u.press("duration:weeks")
    u.press("go")
    if u.state == "danger":
        u.press("danger:none")
    u.press("contacts")
    u.say(postcode)
    assert u.state == "contacts"
    heading, first = u.text.split("\n", 1)  # "Services for …:", then one block per service
    assert heading.endswith(":")
    return first.split("\n\n")


@pytest.mark.parametrize(
    ("worry", "first"),
    [
        ("drugs", "078 15 10 20"),          # De DrugLijn
        ("home_violence", "1712"),
        ("selfharm", "1813"),
    ],
)
def test_in_ghent_the_persons_own_worry_comes_first(engine: Engine, worry: str, first: str) -> None:
    blocks = contacts_for(engine, "nl", "9000", worries=(worry,))
    assert first in blocks[0], blocks[0]
    assert "Radicalisering" not in blocks[0]


def test_namur_and_bullying_offers_school_and_youth_aid(engine: Engine) -> None:
    blocks = contacts_for(engine, "fr", "5000", worries=("bullying",))
    text = "\n".join(blocks)
    assert "centre PMS" in text and "AMO" in text
    assert "CAPREV" not in blocks[0]


@pytest.mark.parametrize("age", ["under12", "12-15", "16-17"])
def test_a_minor_talking_of_leaving_brings_child_focus(engine: Engine, age: str) -> None:
    blocks = contacts_for(engine, "nl", "2000", observed=("leaving",), age=age)
    assert "116 000" in blocks[0]


def test_an_adult_talking_of_leaving_does_not_bring_child_focus(engine: Engine) -> None:
    blocks = contacts_for(engine, "nl", "2000", observed=("leaving",), age="over25")
    assert not any("116 000" in b for b in blocks)


@pytest.mark.parametrize(
    ("locale", "postcode", "own", "place"),
    [
        ("fr", "1640", "Télé-Accueil", "Rhode-Saint-Genèse"),
        ("fr", "3790", "Télé-Accueil", "Fourons"),
        ("nl", "7780", "Tele-Onthaal", "Komen-Waasten"),
        ("nl", "9600", "Tele-Onthaal", "Ronse"),
        ("de", "1000", "TelefonHilfe", "Brüssel"),
    ],
)
def test_facility_municipalities_offer_services_in_the_persons_language(
    engine: Engine, locale: str, postcode: str, own: str, place: str
) -> None:
    u = ScriptedUser(engine, locale)
    u.begin("parent", "general")
    u.press("go")
    if u.state == "danger":  # every path asks the danger question once
        u.press("danger:none")
    u.say(postcode)
    assert place in u.text  # the place in the person's language
    assert own in u.text


def test_a_minor_about_to_travel_brings_child_focus_after_the_emergency_numbers(engine: Engine) -> None:
    u = ScriptedUser(engine, "fr")
    u.begin("parent", "young_person")
    u.press("go")
    u.press("age:16-17")
    u.press("go")
    u.press("go")
    u.press("duration:weeks")
    u.press("go")
    u.press("danger:travel")
    assert "112" in u.text  # the emergency numbers at once
    u.press("contacts")
    u.say("1000")
    assert "116 000" in u.text
