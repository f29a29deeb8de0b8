"""An erasure cannot be undone by Telegram's re-delivery: no new session, and the "erased" answer again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.storage.models import ConversationSession, InboundSeen
from content.i18n import translator
from tests.bot.fake_telegram import BakenOnTelegram, FakeBotAPI, on_webhook, press, text
from tests.bot.test_telegram import PEOPLE, fast_tuning

ERASED = "Everything you told me is erased. If you want, you can start again."


async def sessions(baken: BakenOnTelegram) -> int:
    async with baken.services.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(ConversationSession))).scalar_one())


async def test_a_redelivered_erasure_repeats_its_answer_and_starts_nothing(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """The erasure's answer rides in the webhook's answer: the connection breaks before Telegram reads it."""
    baken, fake = webhook_baken
    person = PEOPLE["nl"]
    await baken.converse(person, ["/start", "#go", "Mijn zoon zegt rare dingen.", "/forget"])
    confirm = press(person, "forget_yes", message_id=fake.of("sendMessage", person.id)[-1].message_id)

    lost = await baken.client.post("/telegram/webhook", json=confirm,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": baken.secret})
    assert lost.status == 200 and (await lost.json())["method"] == "sendMessage"
    assert await sessions(baken) == 0, "the erasure itself was committed"
    await repeats_and_starts_nothing(baken, fake, confirm)


async def test_an_erasure_whose_sent_answer_failed_is_repeated_too(tmp_path: Path) -> None:
    """Sent by request (BAKEN_TELEGRAM_WEBHOOK_REPLY=0): Telegram fails the send, the webhook answers 500."""
    fake, baken = await on_webhook(tmp_path / "data", fast_tuning(), webhook_reply=False)
    try:
        person = PEOPLE["nl"]
        await baken.converse(person, ["/start", "#go", "Mijn zoon zegt rare dingen.", "/forget"])
        confirm = press(person, "forget_yes", message_id=fake.of("sendMessage", person.id)[-1].message_id)
        fake.fail_next("sendMessage", 502, "Bad Gateway")
        assert await baken.post(confirm) == 500, "the answer was lost: Telegram will re-deliver"
        assert await sessions(baken) == 0, "the erasure itself was committed"
        await repeats_and_starts_nothing(baken, fake, confirm)
    finally:
        await baken.close()
        await fake.close()


async def repeats_and_starts_nothing(baken: BakenOnTelegram, fake: FakeBotAPI, confirm: dict[str, Any]) -> None:
    person = PEOPLE["nl"]
    before = len(fake.of("sendMessage", person.id))
    assert await baken.post(confirm) == 200
    again = fake.of("sendMessage", person.id)[before:]
    assert [translator("nl")(ERASED) in call.text for call in again] == [True], "the erased answer, once"
    assert await sessions(baken) == 0, "no new session, no welcome screen"

    assert await baken.post(text(person, "hallo?")) == 200
    assert await sessions(baken) == 1, "a new message afterwards starts afresh, as it should"


async def test_handled_update_ids_outlive_the_erasure_without_naming_the_person(
    webhook_baken: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, _fake = webhook_baken
    person = PEOPLE["fr"]
    await baken.converse(person, ["/start", "#go", "/forget", "#forget_yes"])
    async with baken.services.sessions() as s:
        rows = (await s.execute(select(InboundSeen.session_id))).scalars().all()
    assert len(rows) == 4, "every handled update is still known, so none is handled twice"
    assert set(rows) <= {"", "erased:fr"}, "and none is linked to the erased pseudonym"
