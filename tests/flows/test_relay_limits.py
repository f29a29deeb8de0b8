"""Relayed messages have limits a flood meets and a person never does by accident; danger still comes first."""

from __future__ import annotations

from flows.conversation import RELAY_MAX_CHARS, RELAY_MAX_MESSAGES
from flows.effects import RelayToCounsellor
from flows.engine import Engine
from tests.scripted import ScriptedUser


def waiting(engine: Engine, locale: str = "en") -> ScriptedUser:
    u = ScriptedUser(engine, locale)
    u.begin("parent", "young_person")
    for step in ("go", "age:16-17", "go", "go", "duration:months", "go", "danger:none", "counsellor",
                 "goal:advice", "consent"):
        u.press(step)
    assert u.state == "waiting"
    return u


def relayed(u: ScriptedUser) -> list[RelayToCounsellor]:
    return [e for e in u.effects if isinstance(e, RelayToCounsellor)]


def test_a_message_too_long_is_refused_kindly_and_nothing_is_stored(engine: Engine) -> None:
    u = waiting(engine)
    u.say("x" * (RELAY_MAX_CHARS + 1))
    assert "too long to pass on in one piece" in u.text and relayed(u) == []
    u.say("y" * RELAY_MAX_CHARS)
    assert [len(r.text) for r in relayed(u)] == [RELAY_MAX_CHARS], "the longest allowed message goes through"


def test_a_long_message_that_describes_danger_still_brings_the_numbers(engine: Engine) -> None:
    u = waiting(engine, "nl")
    u.say("Hij heeft een mes gekocht en zegt dat hij morgen een klasgenoot gaat steken. " * 80)
    assert u.replies[0].urgent and "☎ 112" in u.replies[0].text


def test_a_flood_of_messages_is_asked_to_wait(engine: Engine) -> None:
    u = waiting(engine)
    for n in range(RELAY_MAX_MESSAGES):
        u.say(f"message {n}")
    assert len(relayed(u)) == RELAY_MAX_MESSAGES
    u.say("one more")
    assert "Please wait for their answer" in u.text and len(relayed(u)) == RELAY_MAX_MESSAGES
    assert u.state == "waiting", "the request stays in the queue"
