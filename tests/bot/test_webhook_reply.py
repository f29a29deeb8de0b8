"""Replies in the webhook's answer (on by default; BAKEN_TELEGRAM_WEBHOOK_REPLY=0 turns it off): a step's
one-message reply rides in the HTTP answer, as Telegram allows.

What a person notices: the same reply, once, in order, even when the answer never reached Telegram; what
the operator notices: no sendMessage request for it, and its outbox row gone once the chat's next update
shows Telegram read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.storage.models import OutboxMessage
from tests.bot.fake_telegram import TOKEN, BakenOnTelegram, FakeBotAPI, Person, press, text
from tests.bot.test_telegram import fast_tuning
from tests.server_keys import TEST_KEY

PERSON = Person(7301234577, "Noor", "nl")


@asynccontextmanager
async def on_webhook(tmp_path: Path, *, webhook_reply: bool) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=tmp_path, secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook", telegram_webhook_reply=webhook_reply,
    )
    tuning = fast_tuning()
    tuning.webhook_reply = webhook_reply
    baken = BakenOnTelegram(fake, settings, "webhook", tuning)
    await baken.start()
    try:
        yield baken, fake
    finally:
        await baken.close()
        await fake.close()


@pytest.fixture
async def replying(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    async with on_webhook(tmp_path, webhook_reply=True) as pair:
        yield pair


@pytest.fixture
async def by_request(tmp_path: Path) -> AsyncIterator[tuple[BakenOnTelegram, FakeBotAPI]]:
    """BAKEN_TELEGRAM_WEBHOOK_REPLY=0: every reply is a sendMessage of its own."""
    async with on_webhook(tmp_path, webhook_reply=False) as pair:
        yield pair


async def post(baken: BakenOnTelegram, update: dict[str, Any]) -> tuple[int, Any]:
    response = await baken.client.post("/telegram/webhook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": baken.secret})
    body = await response.read()
    return response.status, (await response.json() if body else None)


async def outbox_rows(baken: BakenOnTelegram, *, answered: bool) -> int:
    """Rows kept, unsent or answered. The handler marks a row answered just after writing the answer, which
    the client may read first: this waits (at most 5 s) for the count to settle."""
    rows = -1
    for _ in range(500):
        async with baken.services.sessions() as s:
            stmt = select(OutboxMessage.sent_at)  # type: ignore[call-overload]
            kept = [r for r in (await s.execute(stmt)).scalars()]
        rows = sum(1 for r in kept if (r is not None) == answered)
        if rows == len(kept):
            return rows
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
    assert await outbox_rows(baken, answered=True) == 1, "kept, sealed, until Telegram shows it read it"

    # a press: the spinner is stopped by its own request, the next screen comes in the answer
    status, answer = await post(baken, press(PERSON, "go"))
    assert status == 200 and answer["method"] == "sendMessage"
    assert fake.of("answerCallbackQuery")
    assert fake.of("sendMessage", PERSON.id) == []
    assert await outbox_rows(baken, answered=True) == 1, "the next update settled the first answer's row"


async def test_a_redelivered_update_gets_its_own_answer_again(replying: tuple[BakenOnTelegram, FakeBotAPI]) -> None:
    """Telegram delivers an update again only when it did not read the answer: the person never saw the
    reply, so it comes again, in the answer, and is still stepped once. Once the chat moved on, a late
    re-delivery of an earlier update answers nothing: that reply was read."""
    baken, fake = replying
    start, go = text(PERSON, "/start"), press(PERSON, "go")
    _, first = await post(baken, start)
    status, again = await post(baken, start)
    assert status == 200 and again == first
    _, after_go = await post(baken, go)
    assert after_go["method"] == "sendMessage" and after_go["text"] != first["text"]
    status, late = await post(baken, start)
    assert status == 200 and late is None, "an earlier update's reply is never sent twice"
    status, go_again = await post(baken, go)
    assert status == 200 and go_again == after_go
    assert fake.of("sendMessage", PERSON.id) == []


async def test_without_the_setting_replies_are_sent_by_request(
    by_request: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    baken, fake = by_request
    status, answer = await post(baken, text(PERSON, "/start"))
    assert status == 200 and answer is None
    assert len(fake.of("sendMessage", PERSON.id)) == 1


async def test_a_reply_of_several_messages_sends_the_numbers_first_and_the_rest_in_the_answer(
    replying: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """The urgent numbers stand alone and go by request at once; the conversation goes on in the answer,
    which Telegram runs only after the requests it already answered, so the order holds."""
    baken, fake = replying
    await post(baken, text(PERSON, "/start"))
    status, answer = await post(baken, text(PERSON, "/urgent"))
    assert status == 200
    (numbers,) = fake.of("sendMessage", PERSON.id)
    assert "☎ 112" in numbers.text
    assert answer["method"] == "sendMessage" and "☎" not in answer["text"], "the numbers are not repeated"
    assert answer["reply_markup"]["inline_keyboard"], "the question the person was at, with its buttons"
    assert await outbox_rows(baken, answered=True) == 1, "kept until Telegram shows it read the answer"


async def test_a_step_of_several_messages_delivered_again_sends_only_what_had_not_gone_out(
    replying: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """Telegram delivers /urgent again (its answer never arrived): the numbers it already sent by request
    are not sent a second time; the answer it never read comes again."""
    baken, fake = replying
    await post(baken, text(PERSON, "/start"))
    urgent = text(PERSON, "/urgent")
    _, first = await post(baken, urgent)
    status, again = await post(baken, urgent)
    assert status == 200 and again == first
    assert len(fake.of("sendMessage", PERSON.id)) == 1, "the numbers once, not once per delivery"


async def test_a_step_cut_off_between_its_messages_resumes_after_the_last_one_sent(
    by_request: tuple[BakenOnTelegram, FakeBotAPI],
) -> None:
    """Replies by request (answers off): the numbers go out, the question's request fails, the webhook
    answers 500 and Telegram delivers the update again: the question comes, the numbers do not repeat."""
    baken, fake = by_request
    await post(baken, text(PERSON, "/start"))
    urgent = text(PERSON, "/urgent")
    fake.fail_next("sendMessage", 502, "Bad Gateway", after=1)  # the numbers pass, the question fails
    status, _ = await post(baken, urgent)
    assert status == 500, "not handled whole: Telegram must deliver it again"
    status, _ = await post(baken, urgent)
    assert status == 200
    sent = [c.text for c in fake.of("sendMessage", PERSON.id)][1:]  # after the welcome
    assert len(sent) == 2 and "☎ 112" in sent[0] and "☎" not in sent[1], sent
    assert await outbox_rows(baken, answered=False) == 0, "all sent: the row left the outbox"


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
    assert status == 200 and answer["method"] == "sendMessage", "the erasure's answer, after the deletions"
    ids = [u["message"]["message_id"] for u in typed]
    deleted = {m for call in fake.of("deleteMessages", PERSON.id) for m in call.params["message_ids"]}
    assert set(range(ids[0], ids[-1] + 1)) <= deleted
    assert await outbox_rows(baken, answered=True) == 0, "nothing of the erased chat is kept"
