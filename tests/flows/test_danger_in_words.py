"""Danger in a person's own words, anywhere in the conversation: the fitting numbers first, then the question."""

from __future__ import annotations

import pytest

from content.i18n import LOCALES, translator
from flows.effects import OpenTicket, RelayToCounsellor
from flows.engine import Engine
from tests.flows.test_screen import KNIFE, NO_LIFE
from tests.scripted import ScriptedUser

SUICIDE_LINE = {"nl": "1813", "fr": "0800 32 123", "de": "108"}
CRISIS_LINE = {"nl": "106", "fr": "107", "de": "108"}


def at_story(engine: Engine, locale: str, role: str = "parent", reason: str = "general") -> ScriptedUser:
    u = ScriptedUser(engine, locale)
    u.begin(role, reason)
    assert u.state == "story"
    return u


@pytest.mark.parametrize("locale", LOCALES)
def test_a_knife_and_a_threat_at_the_story_bring_112_and_101_before_anything_else(engine: Engine, locale: str
                                                                                  ) -> None:
    u = at_story(engine, locale)
    u.say(KNIFE[locale])
    first = u.replies[0]
    assert first.urgent and "☎ 112" in first.text and "☎ 101" in first.text
    assert u.state == "danger", "then the danger question, one tap to confirm"
    assert "danger:none" in [b.data for b in u.buttons]


@pytest.mark.parametrize("locale", LOCALES)
def test_not_wanting_to_live_brings_the_suicide_line_of_the_persons_language(engine: Engine, locale: str) -> None:
    u = at_story(engine, locale)
    u.say(NO_LIFE[locale])
    first = u.replies[0]
    assert first.urgent and "☎ 112" in first.text
    lines = [SUICIDE_LINE[locale]] if locale in SUICIDE_LINE else list(SUICIDE_LINE.values())
    for line in lines:
        assert f"☎ {line}" in first.text
    if locale == "nl":
        assert "0800 32 123" not in first.text, "only the line of the person's language"


def test_a_departure_soon_brings_the_police_and_the_communitys_line(engine: Engine) -> None:
    u = at_story(engine, "fr", role="sibling", reason="departure")
    u.say("mon frere part demain en syrie pour combattre")
    first = u.replies[0]
    assert "☎ 101" in first.text and "☎ 112" in first.text and "☎ 0800 111 72" in first.text


def test_after_the_answer_the_person_is_back_where_they_were_and_the_ticket_says_why(engine: Engine) -> None:
    u = at_story(engine, "nl")
    u.say(KNIFE["nl"])
    u.press("danger:none")
    assert u.state == "story", "the person can go on telling"
    u.press("go")
    assert u.state == "guidance", "the danger question was answered: not asked twice"
    assert u.data is not None and u.data["level"] == "urgent"
    u.press("counsellor")
    u.press("goal:advice")
    summary = u.text
    assert translator("nl")("Your own words: a threat or plan to hurt someone") in summary
    u.press("consent")
    ticket = u.effects[-1]
    assert isinstance(ticket, OpenTicket)
    assert ticket.level == "urgent" and "screen:violence" in ticket.reasons


def test_words_typed_where_a_button_was_expected_are_screened_too(engine: Engine) -> None:
    u = ScriptedUser(engine, "en")
    u.begin("teacher", "case")
    u.press("go")
    u.press("age:16-17")
    assert u.state == "observations"
    u.say("he told the class he will blow up the school on friday")
    assert u.replies[0].urgent and "☎ 112" in u.replies[0].text
    assert u.state == "danger"
    u.press("danger:violence")
    assert u.state == "observations", "back to the question the person was answering"


def test_a_message_relayed_while_waiting_is_screened_and_still_passed_on(engine: Engine) -> None:
    u = ScriptedUser(engine, "de")
    u.begin("parent", "young_person")
    u.press("go")
    u.press("age:16-17")
    u.press("go")
    u.press("go")
    u.press("duration:months")
    u.press("go")
    u.press("danger:none")
    u.press("counsellor")
    u.press("goal:advice")
    u.press("consent")
    assert u.state == "waiting"
    u.say("er hat gerade gesagt dass er sich heute nacht umbringen will")
    assert u.replies[0].urgent and "☎ 108" in u.replies[0].text
    relay = u.effects[-1]
    assert isinstance(relay, RelayToCounsellor) and relay.danger == "self_harm"
    assert u.state == "waiting", "nothing is blocked: the message goes to the counsellor as well"


@pytest.mark.parametrize("locale", ["nl", "fr", "de"])
def test_urgent_shows_112_101_and_the_crisis_line_of_the_language(engine: Engine, locale: str) -> None:
    u = ScriptedUser(engine, locale)
    u.start()
    u.say("/urgent")
    text = u.replies[0].text
    assert "☎ 112" in text and "☎ 101" in text and f"☎ {CRISIS_LINE[locale]}" in text


def test_the_guidance_always_lists_the_numbers_and_the_suicide_line_when_self_harm_was_ticked(engine: Engine
                                                                                              ) -> None:
    u = ScriptedUser(engine, "nl")
    u.begin("relative", "news")
    u.press("go")
    u.press("danger:none")
    assert "☎ 112" in u.text and "☎ 101" in u.text and "☎ 106" in u.text
    assert "1813" not in u.text
    u = ScriptedUser(engine, "nl")
    u.begin("parent", "young_person")
    u.press("go")
    u.press("age:16-17")
    u.press("go")
    u.press("tick:selfharm")
    u.press("go")
    u.press("duration:months")
    u.press("go")
    u.press("danger:none")
    assert u.state == "guidance" and "☎ 1813" in u.text


@pytest.mark.parametrize("locale", ["nl", "fr", "de"])
def test_the_suicide_article_shows_the_number_it_promises(engine: Engine, locale: str) -> None:
    u = at_story(engine, locale, reason="young_person")
    u.say(NO_LIFE[locale])
    u.press("danger:life")
    u.press("go")
    u.press("age:16-17")
    u.press("go")
    u.press("go")
    u.press("duration:weeks")
    u.press("go")
    assert u.state == "guidance"
    u.press("read:if-they-talk-about-ending-their-life")
    article = u.replies[0].text
    assert f"☎ {SUICIDE_LINE[locale]}" in article


@pytest.mark.parametrize("answer", ["left", "returned", "children"])
def test_a_departure_that_happened_still_asks_the_danger_question(engine: Engine, answer: str) -> None:
    u = at_story(engine, "en", role="parent", reason="departure")
    u.press("go")
    u.press(f"departure:{answer}")
    assert u.state == "danger"
    u.press("danger:none")
    assert u.state == "guidance"


class BrokenScreen:
    """A screen with a bug in it."""

    def check(self, text: str, lang: str) -> None:
        raise RuntimeError("lexicon bug")


def test_a_fault_in_the_screen_never_costs_the_person_their_answer(caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses

    from flows.bundle import load_content

    engine = Engine(dataclasses.replace(load_content(), screen=BrokenScreen()))  # type: ignore[arg-type]
    u = at_story(engine, "nl")
    u.say("Hij is erg veranderd sinds de zomer.")
    assert u.state == "story" and u.data is not None
    assert u.data["story"] == ["Hij is erg veranderd sinds de zomer."]
    assert translator("nl")("Thank you for telling me.") in u.text
    assert "danger screen failed" in caplog.text and "veranderd" not in caplog.text, "no personal words in logs"
