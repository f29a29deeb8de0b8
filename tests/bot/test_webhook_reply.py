"""BAKEN_TELEGRAM_WEBHOOK_REPLY: a step's one-message reply rides in the webhook's answer, as Telegram allows.

What a person notices: the same reply, once, in order; what the operator notices: no sendMessage request
for it, and nothing of it left in the outbox once the answer was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from bot.storage.models import OutboxMessage
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI, Person, press, text
from tests.bot.test_telegram import fast_tuning
from tests.server_keys import TEST_KEY

PERSON = Person(7301234577, "Noor", "nl")


@pytest.fixture
async def replying(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path, secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook", telegram_webhook_reply=True,
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    yield baken, fake
    await baken.close()
    await fake.close()


async def post(baken: BakenOnTelegram, update: dict[str, Any]) -> tuple[int, Any]:
    response = await baken.client.post("/telegram/webhook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": baken.secret})
    body = await response.read()
    return response.status, (await response.json() if body else None)


async def outbox_rows(baken: BakenOnTelegram) -> int:
    """Rows left once the webhook handler is done: it deletes them just after writing the answer, which the
    client may read first, so this waits (at most 5 s) for the count to settle at 0."""
    for _ in range(500):
        async with baken.services.sessions() as s:
            rows = int((await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())
        if rows == 0:
            return 0
        await asyncio.sleep(0.01)
    return rows


async def test_a_one_message_reply_is_the_webhook_answer(replying: tuple[BakenOnTelegram, FakeBotAPI]) -> None:
    baken, fake = replying
    status, answer = await post(baken, text(PERSON, "/start"))
    assert status == 200
    assert answer["method"] == "sendMessage" and answer["chat_id"] == PERSON.id
    assert answer["parse_mode"] == "HTML" and answer["link_preview_options"] == {"is_disabled": True}
    buttons = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert "go" in buttons
    assert fake.of("sendMessage", PERSON.id) == []  # no request of its own
    assert await outbox_rows(baken) == 0  # the answer was written: the row left the outbox

    # a press: the spinner is stopped by its own request, the next screen comes in the answer
    status, answer = await post(baken, press(PERSON, "go"))
    assert status == 200 and answer["method"] == "sendMessage"
    assert fake.of("answerCallbackQuery")
    assert fake.of("sendMessage", PERSON.id) == []


async def test_a_redelivered_update_is_not_answered_twice(replying: tuple[BakenOnTelegram, FakeBotAPI]) -> None:
    baken, fake = replying
    update = text(PERSON, "/start")
    _, first = await post(baken, update)
    assert first["method"] == "sendMessage"
    status, again = await post(baken, update)
    assert status == 200 and again is None
    assert fake.of("sendMessage", PERSON.id) == []


async def test_without_the_setting_replies_are_sent_by_request(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path, secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook",
    )
    baken = BakenOnTelegram(fake, settings, "webhook", fast_tuning())
    await baken.start()
    try:
        status, answer = await post(baken, text(PERSON, "/start"))
        assert status == 200 and answer is None
        assert len(fake.of("sendMessage", PERSON.id)) == 1
    finally:
        await baken.close()
        await fake.close()


async def test_a_reply_of_several_messages_goes_by_request_in_order(
    replying: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """The urgent numbers stand alone, then the conversation goes on: two messages, so none rides in the
    answer (the answer would arrive after the requests and break their order)."""
    baken, fake = replying
    await post(baken, text(PERSON, "/start"))
    status, answer = await post(baken, text(PERSON, "/urgent"))
    assert status == 200 and answer is None
    sent = fake.of("sendMessage", PERSON.id)
    assert len(sent) >= 2
    assert "112" in sent[0].text
    assert await outbox_rows(baken) == 0


async def test_forget_takes_the_answered_replies_off_the_screen_too(
    replying: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """Replies in webhook answers have no id Baken knows: /forget deletes the whole run of ids in the chat,
    from the first message it knows of to the /forget itself (Telegram numbers them one after another)."""
    baken, fake = replying
    typed = [text(PERSON, "/start"), text(PERSON, "Hallo"), text(PERSON, "/forget")]
    for update in typed:
        status, _ = await post(baken, update)
        assert status == 200
    status, answer = await post(baken, press(PERSON, "forget_yes"))
    assert status == 200 and answer is None, "the erasure's answer goes by request, after the deletions"
    ids = [u["message"]["message_id"] for u in typed]
    deleted = {m for call in fake.of("deleteMessages", PERSON.id) for m in call.params["message_ids"]}
    assert set(range(ids[0], ids[-1] + 1)) <= deleted
