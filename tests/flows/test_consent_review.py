"""Before the yes, the person sees their own words exactly as they would be shared (issue 12)."""

from __future__ import annotations

from flows.conversation import STORY_PREVIEW, shortened
from flows.effects import OpenTicket
from flows.engine import Engine
from tests.scripted import ScriptedUser


def to_review(engine: Engine, story: str, locale: str = "en") -> ScriptedUser:
    u = ScriptedUser(engine, locale)
    u.begin("parent", "young_person")
    u.say(story)
    u.press("go")
    u.press("age:16-17")
    u.press("tick:withdrawn")
    u.press("go")
    u.press("go")
    u.press("duration:months")
    u.press("go")
    u.press("danger:none")
    u.press("counsellor")
    u.press("goal:advice")
    assert u.state == "review"
    return u


def test_the_review_shows_the_persons_own_words(engine: Engine) -> None:
    u = to_review(engine, "He stopped seeing his football friends in March.")
    assert "Your own words: “He stopped seeing his football friends in March.”" in u.text
    u.press("share_story")
    assert "Your own words: left out" in u.text
    assert "football" not in u.text


def test_long_words_are_shortened_in_the_review_but_shared_whole(engine: Engine) -> None:
    story = "Every evening he watches videos. " * 40
    u = to_review(engine, story)
    line = next(line for line in u.text.splitlines() if "Your own words" in line)
    assert line.endswith("…”") and len(line) < STORY_PREVIEW + 40
    u.press("consent")
    ticket = u.effects[-1]
    assert isinstance(ticket, OpenTicket) and ticket.story == story  # the counsellor still gets them whole


def test_the_review_shows_the_words_in_the_persons_language(engine: Engine) -> None:
    u = to_review(engine, "Il ne parle plus à sa sœur.", "fr")
    assert "Vos propres mots : « Il ne parle plus à sa sœur. »" in u.text


def test_shortened_cuts_at_a_word() -> None:
    assert shortened(["one two three"], limit=9) == "one two …"
    assert shortened(["short", "second part"]) == "short / second part"
