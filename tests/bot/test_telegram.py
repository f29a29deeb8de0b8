"""Baken on Telegram, end to end: real Update JSON in, PTB's real HTTP stack out to a fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram.ext import AIORateLimiter

from bot import security_log
from bot.channels.telegram.channel import TelegramTuning
from bot.channels.telegram.commands import COMMANDS
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.notices import CHAT_CLEARED, PRIVATE_ONLY, SOME_MESSAGES_REMAIN
from bot.channels.telegram.render import utf16_len
from bot.settings import Settings
from bot.storage.models import (
    ConsentRecord,
    ConversationSession,
    InboundSeen,
    MessageTrail,
    OutboxMessage,
    Ticket,
)
from content.i18n import LOCALES, translator
from flows.engine import _unsupported_text
from flows.messages import Unsupported
from handover.consent import CONSENT_VERSION
from tests.bot.fake_telegram import (
    TOKEN,
    BakenOnTelegram,
    FakeBotAPI,
    Person,
    added_to_group,
    message,
    press,
    text,
)
from tests.bot.test_server import free_port
from tests.server_keys import TEST_KEY, first_run

TO_TICKET = [
    "/start", "#go", "#role:grandparent", "#reason:young_person", "He only talks about the group now.", "#go",
    "#age:16-17", "#tick:violence_ok", "#tick:withdrawn", "#go", "#go", "#duration:months", "#go", "#danger:none",
    "#counsellor", "#goal:referral", "#consent",
]
PEOPLE = {
    "nl": Person(7301234561, "Annelies", "nl-BE", username="annelies_gent", last_name="Vermeulen"),
    "fr": Person(7301234562, "Amélie", "fr", username="amelie_liege"),
    "de": Person(7301234563, "Jürgen", "de-BE", username="juergen_eupen"),
    "en": Person(7301234564, "Sarah", "en-GB", username="sarah_brx"),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.close()


@pytest.fixture
def tg_settings(tmp_path: Path, fake: FakeBotAPI) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'baken.sqlite3'}",
        secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook",
    )


def fast_tuning(flood: FloodGate | None = None) -> TelegramTuning:
    """Production's rate limiter class, with room for a test's burst; a flood gate that never closes."""
    return TelegramTuning(
        rate_limiter=AIORateLimiter(overall_max_rate=10_000, max_retries=2),
        flood=flood or FloodGate(rate=10_000, burst=10_000),
        poll_timeout=5,
    )


async def running(fake: FakeBotAPI, settings: Settings, mode: str, tuning: TelegramTuning | None = None
                  ) -> BakenOnTelegram:
    if mode == "polling":
        settings = settings.model_copy(update={"telegram_webhook_url": None})
    baken = BakenOnTelegram(fake, settings, mode, tuning or fast_tuning())
    await baken.start()
    return baken


@pytest.fixture(params=["webhook", "polling"])
async def baken(request: pytest.FixtureRequest, fake: FakeBotAPI, tg_settings: Settings
                ) -> AsyncIterator[BakenOnTelegram]:
    b = await running(fake, tg_settings, request.param)
    yield b
    await b.close()


@pytest.fixture
async def hooked(fake: FakeBotAPI, tg_settings: Settings) -> AsyncIterator[BakenOnTelegram]:
    """Webhook mode only: for what only a webhook has (the secret, status codes, re-delivery)."""
    b = await running(fake, tg_settings, "webhook")
    yield b
    await b.close()


@pytest.fixture
async def by_request(fake: FakeBotAPI, tg_settings: Settings) -> AsyncIterator[BakenOnTelegram]:
    """Webhook mode with every reply sent by sendMessage (BAKEN_TELEGRAM_WEBHOOK_REPLY=0), as a step of
    several messages always is: for what only a request can meet (a refused or failed send)."""
    b = await running(fake, tg_settings.model_copy(update={"telegram_webhook_reply": False}), "webhook")
    yield b
    await b.close()


async def count(baken: BakenOnTelegram, table: type, **where: object) -> int:
    async with baken.services.sessions() as s:
        stmt = select(func.count()).select_from(table)
        for column, value in where.items():
            stmt = stmt.where(getattr(table, column) == value)
        return int((await s.execute(stmt)).scalar_one())


def sid(baken: BakenOnTelegram, person: Person) -> str:
    return str(baken.services.dispatcher.pseudonym("telegram", str(person.id)))


# ------------------------------------------------------------------------------------------- conversations
async def test_start_up_registers_commands_per_language_and_the_webhook(
    hooked: BakenOnTelegram, fake: FakeBotAPI
) -> None:
    menus = fake.of("setMyCommands")
    assert [m.params.get("language_code") for m in menus] == [None, *LOCALES]
    for menu in menus:
        t = translator(menu.params.get("language_code") or "nl")
        assert [(c["command"], c["description"]) for c in menu.params["commands"]] == [
            (name, t(description)) for name, description in COMMANDS.items()
        ]
    (hook,) = fake.of("setWebhook")
    assert hook.params["url"] == "https://baken.example/telegram/webhook"
    assert hook.params["secret_token"] == hooked.secret and len(hooked.secret) >= 32
    assert "callback_query" in hook.params["allowed_updates"]


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_whole_conversation_ends_in_a_consented_ticket(
    baken: BakenOnTelegram, fake: FakeBotAPI, lang: str
) -> None:
    person = PEOPLE[lang]
    t = translator(lang)
    replies = await baken.converse(person, TO_TICKET)
    texts = [r.text for r in replies]
    assert any(t("Thank you. Your request is in the queue for a counsellor.") in x for x in texts)
    assert any(t("You are number {position} in the queue.").format(position=1) in x for x in texts)
    assert all(r.params["parse_mode"] == "HTML" for r in replies)
    for r in replies:
        assert all(len(data.encode()) <= 64 for data, _ in r.buttons)
        markup = r.params.get("reply_markup")
        assert markup is None or all(len(row) == 1 for row in markup["inline_keyboard"]), "one button per row"
    async with baken.services.sessions() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
        consent = (await s.execute(select(ConsentRecord))).scalar_one()
    assert ticket.locale == lang and ticket.status == "waiting" and ticket.consent_id == consent.id
    assert consent.consent_version == CONSENT_VERSION and consent.session_id == sid(baken, person)
    assert len(fake.of("answerCallbackQuery")) == sum(s.startswith("#") for s in TO_TICKET)


async def test_the_urgent_path_shows_112_and_101_in_one_message(baken: BakenOnTelegram) -> None:
    person = PEOPLE["fr"]
    urgent = [*TO_TICKET[:13], "#danger:weapons"]
    replies = await baken.converse(person, urgent)
    numbers = [r for r in replies if "112" in r.text and "101" in r.text]
    assert numbers, "the emergency numbers come together, at once"
    assert translator("fr")("If someone is in danger right now, call:") in numbers[0].text
    again = await baken.step(person, "/urgent")
    assert any("112" in r.text and "101" in r.text for r in again)


async def test_a_deep_link_preselects_the_role_and_the_language_follows_telegram(baken: BakenOnTelegram) -> None:
    teacher = Person(7301239999, "Katrien", "de")
    replies = await baken.converse(teacher, ["/start school", "#go"])
    assert translator("de")("What brings you here?") in replies[-1].text, "no role question after a deep link"
    state, data = await baken.services.dispatcher.load_state("telegram", str(teacher.id))
    assert state == "reason" and data is not None and data["role"] == "teacher" and data["locale"] == "de"
    stranger = Person(7301239998, "Lucía", "es")
    replies = await baken.converse(stranger, ["/start"])
    assert translator("nl")("Continue") in [label for _, label in replies[-1].buttons], "Dutch by default"
    replies = await baken.converse(stranger, ["/language", "#lang:en"])
    assert "Continue" in [label for _, label in replies[-1].buttons]


# ------------------------------------------------------------------------------------------- /forget
async def test_forget_deletes_the_chat_and_every_row(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person, other = PEOPLE["nl"], PEOPLE["en"]
    await baken.converse(other, ["/start", "#go"])
    sent = await baken.converse(person, [*TO_TICKET, "Is er iemand?", "/forget"])
    assert await count(baken, MessageTrail, session_id=sid(baken, person)) > 0
    final = await baken.step(person, "#forget_yes")
    t = translator("nl")
    assert t("Everything you told me is erased. If you want, you can start again.") in final[-1].text
    assert t(CHAT_CLEARED) in final[-1].text and final[-1].buttons, "the notice sits above the button"
    deleted = {m for call in fake.of("deleteMessages", person.id) for m in call.params["message_ids"]}
    assert all(len(call.params["message_ids"]) <= 100 for call in fake.of("deleteMessages"))
    assert {r.message_id for r in sent} <= deleted, "every message of the bot in this chat"
    assert set(baken.typed[person.id]) <= deleted, "and every message the person typed"
    for table in (ConversationSession, Ticket, ConsentRecord, InboundSeen, MessageTrail):
        column = "id" if table is ConversationSession else "session_id"
        assert await count(baken, table, **{column: sid(baken, person)}) == 0, table.__name__
    assert await count(baken, ConversationSession) == 1, "the other person's session is untouched"
    assert fake.of("deleteMessages", other.id) == []


async def test_forget_says_kindly_what_is_too_old_to_delete(hooked: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["fr"]
    await hooked.converse(person, ["/start", "#go"])
    person_sid = sid(hooked, person)
    async with hooked.services.sessions() as s, s.begin():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        s.add_all([MessageTrail(session_id=person_sid, message_id=n, created_at=old) for n in range(1, 6)])
        s.add_all([MessageTrail(session_id=person_sid, message_id=n) for n in range(100, 250)])
    await hooked.converse(person, ["/forget", "#forget_yes"])
    batches = [call.params["message_ids"] for call in fake.of("deleteMessages", person.id)]
    deleted = [m for batch in batches for m in batch]
    assert all(1 <= len(batch) <= 100 for batch in batches) and len(batches) >= 2
    assert set(range(100, 250)) <= set(deleted) and not set(range(1, 6)) & set(deleted), "48 hours at most"
    last = fake.of("sendMessage", person.id)[-1]
    assert translator("fr")(SOME_MESSAGES_REMAIN) in last.text
    assert await count(hooked, MessageTrail) == 0


# ------------------------------------------------------------------------------------------- groups
async def test_a_group_gets_one_notice_and_the_bot_leaves(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["fr"]
    group: dict[str, Any] = {"id": -1001234567890, "type": "supergroup", "title": "Parents 3B"}
    for body in ("/start", "Bonjour à tous"):
        assert await baken.send(message(person, chat=group, text=body)) == 200
    (notice,) = fake.of("sendMessage", group["id"])
    assert notice.text == translator("fr")(PRIVATE_ONLY)
    assert [c.chat_id for c in fake.of("leaveChat")] == [group["id"]]
    assert await count(baken, ConversationSession) == 0 and await count(baken, InboundSeen) == 0


async def test_added_to_a_group_the_bot_says_so_and_leaves(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["de"]
    assert await baken.send(added_to_group(person, -4001)) == 200
    joined = {"id": -4001, "type": "group", "title": "Family group"}
    bot = {"id": 123456789, "is_bot": True, "first_name": "Baken", "username": "BakenTestBot"}
    assert await baken.send(message(person, chat=joined, new_chat_members=[bot])) == 200
    (notice,) = fake.of("sendMessage", -4001)
    assert notice.text == translator("de")(PRIVATE_ONLY)
    assert [c.chat_id for c in fake.of("leaveChat")] == [-4001]
    assert await count(baken, ConversationSession) == 0


async def test_a_channel_post_gets_the_notice_in_dutch_and_the_bot_leaves(hooked: BakenOnTelegram,
                                                                         fake: FakeBotAPI) -> None:
    channel: dict[str, Any] = {"id": -1009876543210, "type": "channel", "title": "Nieuws"}
    post = {"update_id": 900_000_001, "channel_post": {"message_id": 5, "date": 1700000000, "chat": channel,
                                                       "sender_chat": channel, "text": "Hallo kanaal"}}
    assert await hooked.post(post) == 200
    (notice,) = fake.of("sendMessage", channel["id"])
    assert notice.text == translator("nl")(PRIVATE_ONLY)
    assert [c.chat_id for c in fake.of("leaveChat")] == [channel["id"]]
    assert await count(hooked, ConversationSession) == 0


# ------------------------------------------------------------------------------------------- what Baken does not read
STICKER = {"file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADxyz", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False, "emoji": "🙂"}
LOCATION = {"latitude": 50.846557, "longitude": 4.351697}
CONTACT = {"phone_number": "+32470123456", "first_name": "Mieke", "last_name": "Peeters", "user_id": 6655443322}
PHOTO = [{"file_id": "AgACAgQAAxkBAAIC", "file_unique_id": "AQADabc", "width": 90, "height": 90}]
FILE = {"file_id": "BQACAgQAAxkBAAID", "file_unique_id": "AgADdef"}


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [("sticker", STICKER, Unsupported.STICKER), ("location", LOCATION, Unsupported.LOCATION),
     ("contact", CONTACT, Unsupported.CONTACT), ("photo", PHOTO, Unsupported.PHOTO),
     ("voice", {**FILE, "duration": 4}, Unsupported.VOICE),
     ("video", {**FILE, "width": 320, "height": 240, "duration": 4}, Unsupported.VIDEO),
     ("document", {**FILE, "file_name": "verslag.pdf"}, Unsupported.DOCUMENT),
     ("dice", {"emoji": "🎲", "value": 3}, Unsupported.OTHER)],
)
async def test_what_baken_does_not_read_gets_a_kind_answer_and_is_not_kept(
    hooked: BakenOnTelegram, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture, field: str, value: Any,
    kind: Unsupported,
) -> None:
    caplog.set_level(logging.DEBUG)
    person = PEOPLE["en"]
    await hooked.converse(person, ["/start"])
    before = len(fake.of("sendMessage", person.id))
    assert await hooked.send(message(person, **{field: value}, caption="my son")) == 200
    replies = fake.of("sendMessage", person.id)[before:]
    assert replies[0].text.startswith(translator("en")(_unsupported_text(kind)))
    await hooked.close()
    stored = database_bytes(hooked)
    for secret in ("+32470123456", "32470123456", "Mieke", "Peeters", "6655443322", "50.846557", "4.351697",
                   "CAACAgIAAxkBAAIB", "BQACAgQAAxkBAAID", "verslag.pdf", "my son"):
        assert secret.encode() not in stored, secret
        assert all(secret not in logged(r) for r in caplog.records), secret


async def test_edits_get_one_kind_word_and_live_locations_none(hooked: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["nl"]
    await hooked.converse(person, ["/start"])
    before = len(fake.of("sendMessage", person.id))
    assert await hooked.send(message(person, kind="edited_message", text="/start bewerkt")) == 200
    (answer,) = fake.of("sendMessage", person.id)[before:]
    assert answer.text.startswith(translator("nl")(_unsupported_text(Unsupported.EDITED)))
    assert await hooked.send(message(person, kind="edited_message", location=LOCATION)) == 200
    assert len(fake.of("sendMessage", person.id)) == before + 1, "a moving live location is not answered"
    forwarded = message(person, text="Kijk wat hij stuurde", forward_origin={
        "type": "user", "date": 1700000000, "sender_user": {"id": 99, "is_bot": False, "first_name": "Zoon"}})
    assert await hooked.send(forwarded) == 200, "a forwarded text is just text"


async def test_a_long_arabic_and_emoji_text_is_read_and_answered(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = Person(7301230001, "Yasmina", "fr")
    long = ("ابني لم يعد يتحدث معنا 😔🙏🏽 ‏" * 200)[:4096]
    assert len(long) == 4096
    await baken.converse(person, ["/start", "#go", "#role:parent", "#reason:young_person"])
    replies = await baken.step(person, long)
    assert translator("fr")("Thank you for telling me.") in replies[0].text
    replies = await baken.converse(person, ["#go", long])
    assert replies and translator("fr")("Please choose one of the options: tap a button or type its number.") in (
        replies[-1].text)
    assert all(utf16_len(c.text) <= 4096 for c in fake.of("sendMessage"))


async def test_html_is_escaped_and_only_content_bold_formats(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["en"]
    steps = ["/start", "#go", "#role:parent", "#reason:young_person", "<b>not bold</b> & *not* **either**", "#go",
             "#age:16-17", "#go", "#go", "#duration:months", "#go", "#danger:none"]
    replies = await baken.converse(person, steps)
    articles = [data for data, _ in replies[-1].buttons if data.startswith("read:")]
    replies += await baken.step(person, f"#{articles[0]}")
    for r in fake.of("sendMessage"):
        assert r.params["parse_mode"] == "HTML"
        assert set(re.findall(r"<[^>]*>", r.text)) <= {"<b>", "</b>"}, r.text[:80]
        assert "**" not in r.text
        assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*", r.text, re.S), "every & starts an entity"


async def test_stale_and_forged_buttons_get_a_kind_answer(
    baken: BakenOnTelegram, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """And each is a security event (ASVS 16.3.3): stale (an earlier question's) or forged (data no question
    carries), a line a minute at most per kind, naming neither the person nor the data pressed."""
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    person = PEOPLE["de"]
    await baken.converse(person, ["/start", "#go", "#role:parent"])
    t = translator("de")
    for data in ("role:teacher", "nonsense:x", "tick:weapons", "x" * 64, ""):
        before = len(fake.of("sendMessage", person.id))
        assert await baken.send(press(person, data, message_id=3, date=0)) == 200
        answers = fake.of("sendMessage", person.id)[before:]
        assert answers and t("That button belongs to an earlier question. Here is where we are now:") in (
            answers[0].text), data
    assert len(fake.of("answerCallbackQuery")) == 2 + 5, "every press is acknowledged"
    state, _ = await baken.services.dispatcher.load_state("telegram", str(person.id))
    assert state == "reason"
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == ["security button_refused channel=telegram hits=1 reason=stale",
                    "security button_refused channel=telegram hits=1 reason=forged"], said
    pseudonym = baken.services.dispatcher.pseudonym("telegram", str(person.id))
    for secret in (pseudonym, str(person.id), person.first_name, "teacher", "nonsense", "weapons", "xxxx"):
        assert not any(secret in line for line in said), secret


# ------------------------------------------------------------------------------------------- once, never lost
async def test_a_duplicate_update_is_handled_once(baken: BakenOnTelegram, fake: FakeBotAPI) -> None:
    """Stepped once either way. On the webhook a re-delivery means Telegram never read the answer that
    carried the reply, so the same reply comes again in the answer; by polling nothing is sent again."""
    person = PEOPLE["nl"]
    await baken.converse(person, ["/start"])
    update = text(person, "Hallo")
    assert await baken.send(update) == 200
    sent = fake.of("sendMessage", person.id)
    state = await baken.services.dispatcher.load_state("telegram", str(person.id))
    assert await baken.send(update) == 200
    again = fake.of("sendMessage", person.id)[len(sent):]
    if baken.mode == "webhook":
        assert [(c.text, c.in_answer) for c in again] == [(sent[-1].text, True)]
    else:
        assert again == []
    assert await baken.services.dispatcher.load_state("telegram", str(person.id)) == state
    assert await count(baken, InboundSeen, key=str(update["update_id"])) == 1


async def test_a_failed_send_is_redelivered_neither_lost_nor_doubled(by_request: BakenOnTelegram,
                                                                    fake: FakeBotAPI) -> None:
    person = PEOPLE["en"]
    await by_request.converse(person, ["/start"])
    update = press(person, "go", message_id=fake.of("sendMessage", person.id)[-1].message_id)
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    assert await by_request.post(update) == 500, "Telegram will deliver it again"
    assert len(fake.of("sendMessage", person.id)) == 1
    assert await by_request.post(update) == 200
    replies = fake.of("sendMessage", person.id)[1:]
    assert len(replies) == 1 and "Who are you?" in replies[0].text
    state, _ = await by_request.services.dispatcher.load_state("telegram", str(person.id))
    assert state == "role", "the step ran once"


async def test_a_flood_wait_from_telegram_is_waited_out(by_request: BakenOnTelegram, fake: FakeBotAPI) -> None:
    person = PEOPLE["en"]
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    assert await by_request.post(text(person, "/start")) == 200
    assert len(fake.of("sendMessage", person.id)) == 1
    assert [c.failed for c in fake.calls if c.method == "sendMessage"] == [True, False]


async def test_a_person_who_blocked_the_bot_costs_no_retries(by_request: BakenOnTelegram, fake: FakeBotAPI
                                                            ) -> None:
    person = PEOPLE["nl"]
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert await by_request.post(text(person, "/start")) == 200, "no re-delivery can change a refusal"
    assert await count(by_request, OutboxMessage) == 0 and await count(by_request, ConversationSession) == 1


async def test_the_webhook_refuses_what_is_not_an_update(hooked: BakenOnTelegram) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": hooked.secret}
    for body in (b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": 7, "message": {"text": 1}}'):
        response = await hooked.client.post("/telegram/webhook", data=body, headers=headers)
        assert response.status == 400
    assert (await hooked.client.get("/telegram/webhook")).status == 405
    assert (await hooked.client.get("/healthz")).status == 200, "the rest of the server is untouched"


async def test_someone_blocking_the_bot_in_private_is_not_a_group(hooked: BakenOnTelegram, fake: FakeBotAPI
                                                                 ) -> None:
    person = PEOPLE["en"]
    update = added_to_group(person, person.id)
    update["my_chat_member"]["chat"] = person.private_chat()
    update["my_chat_member"]["new_chat_member"]["status"] = "kicked"
    update["my_chat_member"]["new_chat_member"]["until_date"] = 0
    assert await hooked.post(update) == 200
    assert fake.of("leaveChat") == [] and fake.of("sendMessage") == []


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
async def test_the_webhook_refuses_a_wrong_or_missing_secret(
    hooked: BakenOnTelegram, fake: FakeBotAPI, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """And says so in the log (ASVS 16.3.3), without what was sent."""
    person = PEOPLE["nl"]
    caplog.set_level(logging.INFO)
    status = await hooked.post(text(person, "/start"), secret=secret if secret != "" else "x" * 64)
    assert status == 401
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == [f"security webhook_secret_refused given={'none' if secret is None else 'wrong'}"]
    assert not any("wrong-secret" in r.getMessage() or "x" * 64 in r.getMessage() for r in caplog.records)
    assert await count(hooked, ConversationSession) == 0 and await count(hooked, InboundSeen) == 0
    assert fake.of("sendMessage") == []


# ------------------------------------------------------------------------------------------- flood
@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_a_flood_from_one_person_slows_only_that_person(
    fake: FakeBotAPI, tg_settings: Settings, mode: str, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """And the log says a limit was hit (ASVS 16.3.3), not whose."""
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    waited: list[tuple[float, asyncio.Event]] = []
    entered = asyncio.Event()

    async def hold(seconds: float) -> None:
        release = asyncio.Event()
        waited.append((seconds, release))
        entered.set()
        await release.wait()

    gate = FloodGate(rate=1.0, burst=3, clock=lambda: 0.0, sleep=hold)  # a frozen clock: no token comes back
    baken = await running(fake, tg_settings, mode, fast_tuning(gate))
    try:
        flooder, calm = PEOPLE["nl"], PEOPLE["fr"]
        await baken.converse(flooder, ["/start", "Hallo", "Hallo?"])
        assert waited == []
        fourth = asyncio.create_task(baken.send(text(flooder, "HALLO??")))
        await entered.wait()
        assert [s for s, _ in waited] == [1.0]
        replies = await baken.converse(calm, ["/start"])
        assert replies and not fourth.done(), "the calm person is answered while the flooder waits"
        flooded = len(fake.of("sendMessage", flooder.id))
        waited[0][1].set()
        assert await fourth == 200
        assert len(fake.of("sendMessage", flooder.id)) == flooded + 1
        assert all(len(key) == 64 for key in gate._buckets), "buckets are keyed by pseudonym"
        said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
        assert said == ["security limit_hit hits=1 limit=telegram_person"]
    finally:
        await baken.close()


# ------------------------------------------------------------------------------------------- nothing personal
async def test_the_database_and_the_logs_hold_no_name_username_or_id(
    fake: FakeBotAPI, tg_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    baken = await running(fake, tg_settings, "webhook")
    try:
        for lang, person in PEOPLE.items():
            await baken.converse(person, TO_TICKET if lang in ("nl", "de") else TO_TICKET[:6])
        await baken.send(message(PEOPLE["en"], contact=CONTACT))
        await baken.send(message(PEOPLE["fr"], chat={"id": -100777, "type": "group", "title": "G"}, text="hi"))
    finally:
        await baken.close()
    stored = database_bytes(baken)
    assert len(stored) > 10_000
    for person in PEOPLE.values():
        for secret in (person.first_name, person.username, person.last_name, str(person.id)):
            if secret:
                assert secret.encode() not in stored, secret
                assert all(secret not in logged(r) for r in caplog.records), secret
    assert all(TOKEN not in logged(r) and TOKEN.split(":")[1] not in logged(r) for r in caplog.records)


def database_bytes(baken: BakenOnTelegram) -> bytes:
    """The SQLite file and its WAL, as bytes: what a thief of the disk would read."""
    db = Path(baken.settings.db_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def logged(record: logging.LogRecord) -> str:
    return record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")


# ------------------------------------------------------------------------------------------- baken qr
async def test_qr_writes_a_png_of_the_deep_link(
    fake: FakeBotAPI, tg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    out = tmp_path / "school.png"
    assert await asyncio.to_thread(main, ["qr", "--start", "school", "--bot", "@BakenBot", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "https://t.me/BakenBot?start=school" in capsys.readouterr().out
    monkeypatch.setenv("BAKEN_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("BAKEN_TELEGRAM_API_URL", str(tg_settings.telegram_api_url))
    monkeypatch.chdir(tmp_path)
    assert await asyncio.to_thread(main, ["qr", "--start", "parent"]) == 0, "the name comes from getMe"
    assert (tmp_path / "baken-parent.png").exists()
    assert "https://t.me/BakenTestBot?start=parent" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- baken serve
async def test_serve_runs_telegram_by_polling_and_logs_no_token_or_person(fake: FakeBotAPI, tg_settings: Settings,
                                                                         tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "serve"), "BAKEN_PORT": str(free_port()), "BAKEN_LOG_LEVEL": "DEBUG",
            "BAKEN_TELEGRAM_TOKEN": TOKEN, "BAKEN_TELEGRAM_API_URL": str(tg_settings.telegram_api_url)}
    first_run(tmp_path / "serve")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    person = PEOPLE["nl"]
    assert proc.stderr is not None
    # read while it runs: DEBUG logs fill a pipe's 64 KiB long before the first update, and a full pipe
    # would block the server in its next log call
    reading = asyncio.create_task(proc.stderr.read())
    try:
        async with asyncio.timeout(30):
            await fake.called("getUpdates")
            fake.push(text(person, "/start"))
            welcome = await fake.called("sendMessage", person.id)
    finally:
        proc.terminate()
        await proc.wait()
        err = await reading
    assert translator("nl")("Continue") in [label for _, label in welcome.buttons]
    log = err.decode()
    assert "Telegram is on: polling mode, as @BakenTestBot" in log
    for secret in (TOKEN, TOKEN.split(":")[1], person.first_name, str(person.id), str(person.username)):
        assert secret not in log, secret


@pytest.mark.parametrize("lang", LOCALES)
async def test_danger_typed_at_the_story_brings_the_fitting_numbers_at_once(baken: BakenOnTelegram, lang: str
                                                                           ) -> None:
    from tests.flows.test_screen import KNIFE, NO_LIFE

    person = PEOPLE[lang]
    await baken.converse(person, ["/start", "#go", "#role:parent", "#reason:general"])
    knife = await baken.step(person, KNIFE[lang])
    assert "112" in knife[0].text and "101" in knife[0].text, "the numbers are the first message"
    assert any("danger:none" in [data for data, _ in r.buttons] for r in knife[1:]), "then the danger question"
    await baken.step(person, "#danger:violence")
    life = await baken.step(person, NO_LIFE[lang])
    suicide = {"nl": ["1813"], "fr": ["0800 32 123"], "de": ["108"], "en": ["1813", "0800 32 123", "108"]}[lang]
    assert "112" in life[0].text and all(line in life[0].text for line in suicide)
    async with baken.services.sessions() as s:
        session = (await s.execute(select(ConversationSession))).scalar_one()
    state, _ = await baken.services.dispatcher.load_state("telegram", str(person.id))
    assert state == "danger" and session.state == "", "the step is kept sealed, never in plain text"
