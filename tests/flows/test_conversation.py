"""The conversation as a person has it, scripted in plain Python (no channel, no database)."""

from __future__ import annotations

import pytest

from content.i18n import LOCALES, translator
from flows import questions as q
from flows.effects import ForgetSession, GiveConsent, OpenTicket, RelayToCounsellor, WithdrawTicket
from flows.engine import Engine
from handover.consent import CONSENT_VERSION
from tests.scripted import ScriptedUser


def walk_to_guidance(u: ScriptedUser, *, observed: tuple[str, ...] = ("withdrawn", "online"),
                     danger: str = "none", story: str | None = "He has changed a lot since the summer.") -> None:
    u.begin("parent", "young_person")
    if story:
        u.say(story)
    u.press("go")
    u.press("age:16-17")
    for o in observed:
        u.press(f"tick:{o}")
    u.press("go")  # observations done
    u.press("go")  # other worries: none
    u.press("duration:months")
    u.press("go")  # explanations: none
    u.press(f"danger:{danger}")


@pytest.mark.parametrize("locale", LOCALES)
def test_whole_conversation_reaches_a_consented_ticket(engine: Engine, locale: str) -> None:
    u = ScriptedUser(engine, locale)
    t = translator(locale)
    walk_to_guidance(u)
    assert u.state == "guidance"
    assert t(q.LEVEL_LABELS["concern"]) in u.text
    assert any(b.data.startswith("read:") for b in u.buttons), "guidance offers articles"
    u.press("counsellor")
    u.press("goal:advice")
    assert u.state == "review"
    assert t("This is what the counsellor would see:") in u.text
    assert t(q.label_of(q.OBSERVATIONS, "online") or "") in u.text
    assert not u.effects, "nothing is shared before the yes"
    u.press("consent")
    assert u.state == "waiting"
    consent, ticket = u.effects
    assert isinstance(consent, GiveConsent) and consent.consent_version == CONSENT_VERSION
    assert consent.locale == locale
    assert isinstance(ticket, OpenTicket)
    assert ticket.level == "concern" and "observed:online" in ticket.reasons
    assert ticket.story == "He has changed a lot since the summer."
    if locale != "en":
        assert "This is what the counsellor would see" not in ticket.summary


def test_the_person_can_leave_their_own_words_out(user: ScriptedUser) -> None:
    walk_to_guidance(user, story="My daughter cries every night.")
    user.press("counsellor")
    user.press("goal:support")
    user.press("share_story")
    assert "Include my own words" in [b.label for b in user.buttons]
    user.press("consent")
    ticket = user.effects[-1]
    assert isinstance(ticket, OpenTicket)
    assert ticket.story is None
    assert "cries" not in ticket.summary


def test_declining_shares_nothing_and_keeps_help_on_offer(user: ScriptedUser) -> None:
    walk_to_guidance(user)
    user.press("counsellor")
    user.press("goal:information")
    user.press("decline")
    assert user.effects == []
    assert user.state == "guidance"
    assert any(b.data.startswith("read:") for b in user.buttons)


@pytest.mark.parametrize("danger", ["violence", "weapons", "travel", "life"])
def test_an_urgent_answer_shows_the_emergency_numbers_at_once(user: ScriptedUser, danger: str) -> None:
    walk_to_guidance(user, danger=danger)
    first = user.replies[0]
    assert first.urgent
    assert "112" in first.text and "101" in first.text
    assert user.data is not None and user.data["level"] == "urgent"
    assert user.buttons[0].data == "counsellor", "urgent puts the handover offer first"


@pytest.mark.parametrize(("locale", "line", "not_line"), [("nl", "1813", "0800 32 123"), ("fr", "0800 32 123", "1813")])
def test_danger_to_own_life_adds_the_right_suicide_line(engine: Engine, locale: str, line: str, not_line: str) -> None:
    u = ScriptedUser(engine, locale)
    walk_to_guidance(u, danger="life")
    urgent = u.replies[0].text
    assert line in urgent and not_line not in urgent
    assert ("102" if locale == "nl" else "103") in urgent, "the youth line too, for a threat to their own life"


def test_urgent_command_works_anywhere(user: ScriptedUser) -> None:
    user.start()
    user.press("go")
    user.say("/urgent")
    assert user.replies[0].urgent and "112" in user.replies[0].text
    assert user.state == "role", "the question waits where it was"


def test_danger_words_in_free_text_show_the_numbers_and_ask_the_danger_question(user: ScriptedUser) -> None:
    user.begin("teacher", "case")
    user.say("A pupil said he has a weapon in his bag")
    assert user.replies[0].urgent and "112" in user.replies[0].text, "the numbers come first"
    assert user.state == "danger", "then the danger question, to confirm in one tap"
    user.press("danger:weapons")
    assert user.state == "story", "and back to where the person was"


def test_a_young_person_is_pointed_to_youth_lines(engine: Engine) -> None:
    u = ScriptedUser(engine, "nl")
    u.begin("self")
    assert u.state == "danger", "the danger question first, for a young person too"
    u.press("danger:none")
    assert u.state == "young_self"
    u.press("contacts")
    u.press("skip")
    assert "102" in u.text, "Awel for a Dutch-speaking young person"


def test_back_returns_to_the_previous_question(user: ScriptedUser) -> None:
    user.begin("parent")
    assert user.state == "reason"
    user.press("back")
    assert user.state == "role"
    user.say("back")
    assert user.state == "role", "no earlier question than role after welcome"


def test_language_can_change_mid_flow(user: ScriptedUser) -> None:
    user.begin("parent")
    user.say("/language")
    user.press("lang:fr")
    assert user.state == "reason"
    assert translator("fr")("What brings you here?") in user.text
    assert user.data is not None and user.data["role"] == "parent"


def test_a_stale_or_forged_button_gets_a_kind_answer(user: ScriptedUser) -> None:
    user.start()
    user.press("go")
    user.press_data("age:16-17")
    assert user.state == "role"
    assert "earlier question" in user.text
    user.press_data("role:administrator")
    assert user.state == "role"
    user.press_data("totally-unknown")
    assert user.state == "role"


def test_typed_numbers_and_labels_answer_a_question(user: ScriptedUser) -> None:
    user.start()
    user.say("continue")
    assert user.state == "role"
    user.say("1")
    assert user.data is not None and user.data["role"] == "parent"
    user.say("a general QUESTION")
    assert user.data["reason"] == "general"


def test_text_out_of_turn_is_kept_and_the_question_asked_again(user: ScriptedUser) -> None:
    user.start()
    user.press("go")
    user.say("I am so worried about my son, he does not talk to us any more")
    assert user.state == "role"
    assert user.data is not None and "does not talk" in user.data["story"][0]
    assert "choose one of the options" in user.text


@pytest.mark.parametrize(
    "what", ["sticker", "photo", "voice", "video", "document", "location", "contact", "edited", "other"]
)
def test_things_baken_cannot_read_get_a_kind_answer(engine: Engine, what: str) -> None:
    from flows.engine import _unsupported_text
    from flows.messages import Inbound, Unsupported

    u = ScriptedUser(engine, "de")
    u.start()
    u.press("go")
    u._step(Inbound.unsupported(Unsupported(what)))
    assert u.state == "role"
    assert len(u.replies) == 2, "an answer, then the question again"
    assert u.replies[0].text == translator("de")(_unsupported_text(what))
    if what in ("location", "contact"):
        assert "did not keep it" in _unsupported_text(what)


@pytest.mark.parametrize("text", ["x" * 4000, "😟🙏 " * 300, "أنا قلقة جدا على ابني. لا يتكلم معنا", "a\u202eb" * 50])
def test_long_emoji_and_right_to_left_texts_are_kept_whole(user: ScriptedUser, text: str) -> None:
    walk_to_guidance(user, story=text)
    assert user.data is not None and user.data["story"] == [text]


def test_an_over_long_story_is_kept_up_to_the_limit_and_said_so(user: ScriptedUser) -> None:
    user.begin("parent", "general")
    user.say("y" * 9000)
    assert "kept the first part" in user.text
    assert user.data is not None and len(user.data["story"][0]) == 8000


def test_restart_mid_flow_starts_over_and_keeps_the_language(engine: Engine) -> None:
    u = ScriptedUser(engine, "fr")
    walk_to_guidance(u)
    u.say("/restart")
    assert u.state == "welcome"
    assert u.data is not None and u.data["role"] is None and u.data["story"] == [] and u.data["locale"] == "fr"


def test_forget_asks_then_erases(user: ScriptedUser) -> None:
    walk_to_guidance(user)
    user.say("/forget")
    assert user.state == "confirm_forget"
    user.press("forget_no")
    assert user.state == "guidance"
    user.say("/forget")
    user.press("forget_yes")
    assert user.erased and isinstance(user.effects[-1], ForgetSession)
    assert "erased" in user.text


def test_stop_withdraws_a_pending_request(user: ScriptedUser) -> None:
    walk_to_guidance(user)
    user.press("counsellor")
    user.press("goal:advice")
    user.press("consent")
    user.say("Are you there?")
    assert isinstance(user.effects[-1], RelayToCounsellor)
    user.say("/stop")
    assert isinstance(user.effects[-1], WithdrawTicket)
    assert user.state == "done"


@pytest.mark.parametrize("reason", ["general", "news"])
def test_a_general_question_still_offers_reading_and_services(user: ScriptedUser, reason: str) -> None:
    user.begin("relative", reason)
    user.press("go")
    assert user.state == "danger"
    user.press("danger:none")
    assert user.state == "guidance"
    reads = [b for b in user.buttons if b.data.startswith("read:")]
    assert reads
    user.press_data(reads[0].data)
    assert len(user.replies[0].text) > 200, "the article itself is shown"
    user.press("contacts")
    user.press("skip")
    assert "112" in user.text or "078" in user.text or "107" in user.text


def test_a_departure_being_planned_leads_to_the_danger_question(user: ScriptedUser) -> None:
    user.begin("parent", "departure")
    user.press("go")
    user.press("departure:planning")
    assert user.state == "danger"
    user.press("danger:none")
    assert user.data is not None and user.data["level"] == "serious"


def test_deep_link_preselects_the_role(user: ScriptedUser) -> None:
    user.say("/start school")
    user.press("go")
    assert user.state == "reason"
    assert "reason:case" in [b.data for b in user.buttons]


def test_other_worries_point_to_general_help(engine: Engine) -> None:
    u = ScriptedUser(engine, "nl")
    u.begin("parent", "young_person")
    u.press("go")
    u.press("age:12-15")
    u.press("go")
    u.press("tick:drugs")
    u.press("go")
    u.press("duration:weeks")
    u.press("go")
    u.press("danger:none")
    assert u.data is not None and "drugs" in u.data["topics"]
    u.press("contacts")
    u.say("9000")
    assert "078 15 10 20" in u.text, "De DrugLijn for a drugs worry in Ghent"


@pytest.mark.parametrize("locale", LOCALES)
def test_first_screens_and_buttons_never_say_radicalisation(engine: Engine, locale: str) -> None:
    u = ScriptedUser(engine, locale)
    seen = []
    u.start()
    seen += [u.text, *[b.label for b in u.buttons]]
    u.press("go")
    seen += [u.text, *[b.label for b in u.buttons]]
    u.press("role:parent")
    seen += [u.text, *[b.label for b in u.buttons]]
    for text in seen:
        assert "radicali" not in text.lower() and "radikali" not in text.lower(), text


def test_no_answer_treats_religion_or_culture_as_a_sign() -> None:
    labels = " ".join(label for _, label in q.OBSERVATIONS + q.OTHER_WORRIES + q.DANGERS).lower()
    for word in ("relig", "faith", "headscarf", "veil", "mosque", "islam", "muslim", "pray", "beard", "culture"):
        assert word not in labels


@pytest.mark.parametrize("locale", LOCALES)
def test_no_button_anywhere_in_guidance_names_radicalisation(engine: Engine, locale: str) -> None:
    for role, reason in [("parent", "general"), ("teacher", "case"), ("worker", "news"), ("parent", "departure")]:
        u = ScriptedUser(engine, locale)
        u.begin(role, reason)
        u.press("go")
        while u.state != "guidance":
            u.press_data(u.buttons[0].data if not u.buttons[0].data.startswith("tick") else "go")
        for b in u.buttons:
            assert "radicali" not in b.label.lower() and "radikali" not in b.label.lower(), b.label


def test_puberty_as_an_explanation_leads_with_growing_up(user: ScriptedUser) -> None:
    user.begin("parent", "young_person")
    user.press("go")
    user.press("age:12-15")
    user.press("tick:blackwhite")
    user.press("go")
    user.press("go")
    user.press("duration:weeks")
    user.press("tick:puberty")
    user.press("go")
    user.press("danger:none")
    assert "puberty may play a part" in user.text
    first = next(b for b in user.buttons if b.data.startswith("read:"))
    assert first.data == "read:normal-adolescence"


@pytest.mark.parametrize(
    ("role", "expected"), [("teacher", "remarks-in-class"), ("worker", "referring-without-breaking-trust")]
)
def test_professionals_are_offered_what_fits_their_work(engine: Engine, role: str, expected: str) -> None:
    u = ScriptedUser(engine, "en")
    u.begin(role, "case")
    u.press("go")
    u.press("age:16-17")
    u.press("tick:blackwhite")
    u.press("go")
    u.press("go")
    u.press("duration:months")
    u.press("go")
    u.press("danger:none")
    assert f"read:{expected}" in [b.data for b in u.buttons]


def test_a_postcode_typed_while_reading_shows_local_services(engine: Engine) -> None:
    u = ScriptedUser(engine, "nl")
    u.begin("parent", "general")
    u.press("go")
    u.press("danger:none")
    u.say("1800")
    assert u.state == "contacts"
    assert "Vilvoorde" in u.text
    u.press("articles")
    u.say("1801")
    assert u.state == "postcode", "an unknown postcode asks again, with suggestions"
    assert any(b.data.startswith("place:18") for b in u.buttons)
