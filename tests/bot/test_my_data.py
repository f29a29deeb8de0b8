"""/mydata shows a person everything Baken keeps linked to them, readable, in their language."""

from __future__ import annotations

import uuid

from bot.app import Services
from bot.dispatch import Envelope
from content.i18n import translator
from flows.messages import Inbound
from tests.bot.test_dispatch import PATH, converse


async def my_data(services: Services, user: str, locale: str) -> str:
    d = await services.dispatcher.handle(
        Envelope("test", user, Inbound.from_text("/mydata"), update_key=uuid.uuid4().hex, locale_hint=locale)
    )
    await services.dispatcher.delivered(d.outbox_ids)
    return "\n".join(r.text for r in d.replies)


async def test_mydata_shows_answers_own_words_request_and_messages(services: Services) -> None:
    await converse(services, "anna", [*PATH, "Is er al iemand die dit leest?"], locale="nl")
    _state, data = await services.dispatcher.load_state("test", "anna")
    assert data is not None
    shown = await my_data(services, "anna", "fr")  # a hint never overrides the session's own language
    t = translator(data["locale"])
    assert t("This is everything Baken keeps about this conversation:") in shown
    assert "He only talks about the group now." in shown, "the person's own words, in full"
    assert t("waiting for a counsellor") in shown
    assert f"{t('You')}: Is er al iemand die dit leest?" in shown, "what was relayed to the counsellor"
    assert t("/forget erases everything at once.") in shown


async def test_mydata_without_a_request_says_so_in_the_persons_language(services: Services) -> None:
    await converse(services, "bram", ["/start", "#go"], locale="nl")
    state, data = await services.dispatcher.load_state("test", "bram")
    assert state is not None and data is not None
    t = translator(data["locale"])
    shown = await my_data(services, "bram", "nl")
    assert t("No request for a counsellor is stored for you.") in shown
    assert state == (await services.dispatcher.load_state("test", "bram"))[0], "/mydata changes nothing"
