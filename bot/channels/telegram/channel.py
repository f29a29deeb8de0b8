"""Baken on Telegram (python-telegram-bot 22): updates become Envelopes, Deliveries become messages.

The application is built and wired once here. Two ways in: a webhook POST handled inside Baken's own
aiohttp request (`process_webhook`, answered only after the transaction committed), or PTB's updater polling
from a laptop. Both pass PTB's update processor (`ChatLanes`: one lane per chat, a bound on the work in
hand) and end in the same handlers; only the kind of an update and the person's pseudonymous id reach the
domain, and only the chat id (encrypted by the Dispatcher) is kept to write back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels.telegram.aiohttp_request import AiohttpRequest
from bot.channels.telegram.budget import BudgetedRateLimiter, SendBudget
from bot.channels.telegram.commands import register_commands
from bot.channels.telegram.erase import Cleared, clear_chat
from bot.channels.telegram.flood import FloodGate
from bot.channels.telegram.lanes import ChatLanes
from bot.channels.telegram.log_filter import keep_secrets_out_of_logs
from bot.channels.telegram.notices import CHAT_CLEARED, PRIVATE_ONLY, SLOW_DOWN, SOME_MESSAGES_REMAIN, say
from bot.channels.telegram.render import Part, compose
from bot.channels.telegram.updates import GROUPS, PRIVATE, edit_of, inbound_of, urgent_candidate
from bot.dispatch import Delivery, Dispatcher, Envelope
from bot.lanes import LaneFull
from bot.security_log import limit_hit
from bot.urgent import GRACE_SECONDS, NumbersSent, numbers_first, without_numbers
from content.i18n import normalise_locale
from flows.messages import Inbound, Outbound

log = logging.getLogger("baken.telegram")

CHANNEL = "telegram"
DEFAULT_API_URL = "https://api.telegram.org"
#: what Baken asks Telegram for; everything else (inline queries, reactions, payments) never arrives
ALLOWED_UPDATES: list[str] = [
    Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER, Update.CHANNEL_POST,
]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE


def default_rate_limiter(*, budget: bool = True) -> BaseRateLimiter[Any]:
    """Telegram's limits for the whole bot (30 messages/s across the cluster: this process's share of them, see
    budget.py; 20/min per group); waits out a 429 and retries. Without the budget (load tests against a fake
    Bot API only) the 429s are still waited out."""
    return BudgetedRateLimiter(max_retries=3) if budget else AIORateLimiter(overall_max_rate=0, max_retries=3)


@dataclass
class TelegramTuning:
    """What production leaves at its defaults; tests and the benchmark turn these."""

    rate_limiter: BaseRateLimiter[Any] | None = field(default_factory=default_rate_limiter)
    flood: FloodGate = field(default_factory=FloodGate)
    poll_timeout: float = 10.0
    #: updates worked on at once (across chats); more wait in their chat's lane
    max_concurrent_updates: int = 64
    #: webhook updates in hand at once, working or waiting; past it the webhook answers 503 + Retry-After
    max_pending_updates: int = 1024
    #: one chat's updates in hand at once; past it that chat alone gets 429 + Retry-After (a flood)
    max_per_chat: int = 32
    #: False only to measure what per-chat ordering costs (bench.ordering): no lanes, the same bounds
    ordered: bool = True
    #: called with each update id once all handlers ran (tests await it in polling mode)
    on_handled: Callable[[int], None] | None = None
    #: PTB's HTTP backend: "aiohttp" (Baken's, the default) or "httpx" (PTB's own); BAKEN_TELEGRAM_HTTP
    http: str = "aiohttp"
    #: a step's reply that is one message rides in the webhook's answer (BAKEN_TELEGRAM_WEBHOOK_REPLY)
    webhook_reply: bool = True
    #: seconds a webhook update asking for urgent help may take before its numbers go out without storage
    urgent_grace: float = GRACE_SECONDS
    #: where the update ids of numbers sent without storage are kept across restarts (`serve`: the data folder)
    numbers_sent_path: Path | None = None


@dataclass
class _Outcome:
    """Whether the update of the current webhook request went through; the error handler fills it.

    `reply`: the Bot API call to answer the webhook with (one sendMessage).
    """

    error: BaseException | None = None
    reply_allowed: bool = False
    reply: dict[str, Any] | None = None
    #: whether the update asks for urgent help, when answer_webhook already worked that out (the screen
    #: then runs once for it on the event loop, not twice)
    urgent: bool | None = None


@dataclass(frozen=True)
class WebhookAnswer:
    """How a webhook update went, and the Bot API call (if any) to put in the HTTP answer."""

    handled: Handled
    reply: dict[str, Any] | None = None


_OUTCOME: ContextVar[_Outcome | None] = ContextVar("baken_telegram_outcome", default=None)
#: seconds a webhook answer of "busy" asks Telegram to wait before it delivers the update again
RETRY_AFTER = 1


#: failures a re-delivery can cure: the network, Telegram itself, the database, a timeout
RETRYABLE: tuple[type[BaseException], ...] = (TelegramError, DBAPIError, OSError, TimeoutError)


class Handled(enum.IntEnum):
    """How a webhook update went, as the HTTP status Telegram gets: anything but 200 makes it deliver again."""

    OK = 200
    CHAT_BUSY = 429  # too many of this chat's updates already wait: later, please
    FAILED = 500  # something broke before the step was stored: deliver it again
    BUSY = 503  # the server has its hands full: later, please (nothing was read or stored)


def build_application(token: str, api_url: str | None, *, polling: bool, tuning: TelegramTuning) -> TelegramApp:
    root = (api_url or DEFAULT_API_URL).rstrip("/")
    builder = (
        Application.builder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(ChatLanes(tuning.max_concurrent_updates, ordered=tuning.ordered,
                                      max_per_chat=tuning.max_per_chat))
        .job_queue(None)
    )
    if tuning.http == "aiohttp":
        # getUpdates holds one connection for the long poll; PTB's own default pool sizes (256 and 1)
        builder = builder.request(AiohttpRequest(256)).get_updates_request(AiohttpRequest(1))
    elif tuning.http != "httpx":
        raise ValueError(f"unknown Telegram HTTP backend {tuning.http!r}: aiohttp or httpx")
    if tuning.rate_limiter is not None:
        builder = builder.rate_limiter(tuning.rate_limiter)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


class TelegramChannel:
    """One bot: handlers for private chats, groups (left at once) and buttons, and the way back out."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        token: str,
        *,
        api_url: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str = "",
        tuning: TelegramTuning | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.dispatcher = dispatcher
        self.token = token
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.tuning = tuning or TelegramTuning()
        self.flood = self.tuning.flood
        self.clock = clock
        keep_secrets_out_of_logs(token)  # before PTB is built: it logs its URLs, token included, at DEBUG
        self.application = build_application(token, api_url, polling=webhook_url is None, tuning=self.tuning)
        self._left: dict[int, None] = {}  # groups already told and left (in memory, bounded)
        self._pending = 0  # webhook updates in hand
        # update ids whose urgent numbers went out without storage (kept on disk across restarts when set)
        self._numbers_sent = NumbersSent(path=self.tuning.numbers_sent_path)
        self._answering = NumbersSent()  # update ids whose stored replies are being sent (or were)
        self._wire()

    @property
    def bot(self) -> Bot:
        return self.application.bot

    @property
    def lanes(self) -> ChatLanes:
        processor = self.application.update_processor
        assert isinstance(processor, ChatLanes)
        return processor

    @property
    def _answers_in_webhook(self) -> bool:
        return self.webhook_url is not None and self.tuning.webhook_reply

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    def _wire(self) -> None:
        app = self.application
        app.add_handler(ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(MessageHandler(filters.ChatType.GROUPS | filters.ChatType.CHANNEL, self.on_group_message))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE, self.on_edit))
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, self.on_message))
        app.add_error_handler(self.on_error)
        if self.tuning.on_handled is not None:
            app.add_handler(TypeHandler(Update, self._handled), group=1)

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """getMe, the command menus, then the webhook (with its secret) or long polling."""
        app = self.application
        await app.initialize()
        await register_commands(app.bot)
        if self.webhook_url:
            await app.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES,
                max_connections=max(1, min(100, self.tuning.max_concurrent_updates)),
            )
        elif app.updater is not None:
            await app.updater.start_polling(
                timeout=dt.timedelta(seconds=self.tuning.poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
        await app.start()
        log.info("Telegram is on: %s mode, as @%s", self.mode, app.bot.username)

    async def stop(self) -> None:
        """Leaves the webhook registered: other processes behind the same URL keep serving it."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def process_webhook(self, payload: dict[str, Any]) -> Handled:
        """Handle one webhook update inside the request; anything but OK means Telegram must deliver it again.

        Its replies are sent by the Bot API before this returns (never in the webhook's answer).
        """
        return (await self.answer_webhook(payload, reply_allowed=False)).handled

    async def answer_webhook(self, payload: dict[str, Any], *, reply_allowed: bool = True) -> WebhookAnswer:
        """Handle one webhook update inside the request; anything but OK means Telegram must deliver it again.

        With `webhook_reply` on (and `reply_allowed`), a step whose replies make one message returns it as
        `reply` instead of sending it: the webhook route answers with it. Its outbox row was written marked
        for an answer (see Envelope.settles_answers): nothing is left to record once the answer is written.

        The update joins its chat's lane at once, with no wait before it, so a chat's updates are handled in
        the order their requests arrived. Past `max_pending_updates` in hand it is refused whole (BUSY).
        An update that asks for urgent help gets its numbers within `urgent_grace` seconds whatever happens
        to the stored step (the database locked or down, the chat's lane full of a flood): see bot.urgent.
        Raises ValueError for a payload that is not an update (nothing of it is logged).
        """
        try:
            update = Update.de_json(payload, self.bot)
        # OSError and OverflowError: a date the platform cannot represent
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
            raise ValueError("not a Telegram update") from exc
        candidate = urgent_candidate(update)
        numbers = None
        if candidate is not None:
            numbers = self.dispatcher.urgent_numbers(candidate[1], normalise_locale(candidate[2]))
        if numbers is None:
            return await self._process(update, reply_allowed, urgent=False if candidate is not None else None)
        key, chat_id = str(update.update_id), candidate[0] if candidate is not None else 0

        async def send_numbers(replies: list[Outbound]) -> None:
            if key in self._answering or key in self._numbers_sent:
                return  # the stored answer is on its way, or this re-delivery's numbers went out before
            self._numbers_sent.add(key)
            log.warning("urgent numbers sent without the stored step: it is late or failed")
            with suppress(TelegramError):
                for part in compose(replies):
                    await self.bot.send_message(chat_id, part.html, parse_mode=ParseMode.HTML,
                                                reply_markup=part.markup, link_preview_options=NO_PREVIEW)
            with suppress(OSError):  # a full disk costs at most a second copy after a crash, never the numbers
                self._numbers_sent.record(key)

        # urgent answers are several messages: the numbers by request first, the question in the answer
        answer, _ = await numbers_first(self._process(update, reply_allowed, urgent=True), numbers, send_numbers,
                                        grace=self.tuning.urgent_grace, failed=lambda a: a.handled != Handled.OK)
        return answer

    async def _process(self, update: Update, reply_allowed: bool, *, urgent: bool | None = None) -> WebhookAnswer:
        if self._pending >= self.tuning.max_pending_updates:
            log.warning("webhook busy: %d updates in hand; Telegram will deliver again", self._pending)
            return WebhookAnswer(Handled.BUSY)
        self._pending += 1
        outcome = _Outcome(reply_allowed=reply_allowed and self.tuning.webhook_reply, urgent=urgent)
        token = _OUTCOME.set(outcome)
        try:
            app = self.application
            work = app.process_update(update)
            try:
                await app.update_processor.process_update(update, work)
            except LaneFull:
                work.close()  # never started: too many of this chat's updates are in hand already
                return WebhookAnswer(Handled.CHAT_BUSY)
        finally:
            _OUTCOME.reset(token)
            self._pending -= 1
        if outcome.error is None:
            return WebhookAnswer(Handled.OK, outcome.reply)
        if isinstance(outcome.error, LaneFull):
            return WebhookAnswer(Handled.CHAT_BUSY)
        if isinstance(outcome.error, RETRYABLE):
            return WebhookAnswer(Handled.FAILED)
        # a fault this update causes every time (a forged or malformed update): logged once, and answered, so
        # that Telegram does not re-deliver it forever and hold up the chat's later messages behind it
        return WebhookAnswer(Handled.OK)

    # ------------------------------------------------------------------ handlers: private chats
    async def on_message(self, update: Update, context: Context) -> None:
        message = update.message
        inbound = inbound_of(message) if message is not None else None
        if message is not None and inbound is not None:
            await self._converse(update, inbound, message.message_id)

    async def on_edit(self, update: Update, context: Context) -> None:
        inbound = edit_of(update.edited_message) if update.edited_message is not None else None
        if inbound is not None:
            await self._converse(update, inbound, None)

    async def on_button(self, update: Update, context: Context) -> None:
        """Acknowledge at once, beside the step (the spinner stops without waiting for it); stale or forged
        data is the engine's to answer kindly. The update is done when both are."""
        query = update.callback_query
        if query is None:
            return
        acknowledged = asyncio.create_task(_acknowledge(query.answer()))
        try:
            chat = update.effective_chat
            if chat is not None and chat.type == PRIVATE:
                # the message under the button: with replies in webhook answers, the only way to learn the ids
                # Baken's own messages got, for /forget to take them off the screen
                shown = query.message.message_id if query.message is not None and self._answers_in_webhook else None
                await self._converse(update, Inbound.choice(query.data or ""), shown)
        finally:
            await acknowledged

    # ------------------------------------------------------------------ handlers: groups and channels
    async def on_group_message(self, update: Update, context: Context) -> None:
        """Never a conversation in a group: say so once, then leave. The Dispatcher is not called."""
        chat, user = update.effective_chat, update.effective_user
        if chat is not None:
            await self._leave(chat.id, user.language_code if user is not None else None)

    async def on_membership(self, update: Update, context: Context) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type not in GROUPS:
            return  # in a private chat this is someone blocking or unblocking the bot: nothing to do
        if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            return
        await self._leave(change.chat.id, change.from_user.language_code)

    async def _leave(self, chat_id: int, language_code: str | None) -> None:
        if chat_id in self._left:
            return
        self._left[chat_id] = None
        if len(self._left) > 1024:
            del self._left[next(iter(self._left))]
        with suppress(TelegramError):
            await self.bot.send_message(chat_id, say(PRIVATE_ONLY, language_code))
        with suppress(TelegramError):
            await self.bot.leave_chat(chat_id)
        log.info("left a group or channel: Baken talks one to one only")

    # ------------------------------------------------------------------ errors and observers
    async def on_error(self, update: object, context: Context) -> None:
        """Logged once, by update id at most; a webhook request then answers 500 so Telegram re-delivers."""
        outcome = _OUTCOME.get()
        if outcome is not None:
            outcome.error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(context.error, LaneFull):
            log.warning("Telegram update %s refused: too many of its chat's updates wait", update_id)
            return
        log.error("Telegram update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error)

    async def _handled(self, update: Update, context: Context) -> None:
        if self.tuning.on_handled is not None:
            self.tuning.on_handled(update.update_id)

    # ------------------------------------------------------------------ the path through the domain
    async def _converse(self, update: Update, inbound: Inbound, message_ref: int | None) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        user_id = str(user.id)
        pseudonym = self.dispatcher.pseudonym(CHANNEL, user_id)
        outcome = _OUTCOME.get()
        urgent = outcome.urgent if outcome is not None and outcome.urgent is not None else (
            self.dispatcher.urgent_numbers(inbound, normalise_locale(user.language_code)) is not None)
        delay = 0.0 if urgent else self.flood.delay(pseudonym)  # no limit ever holds up urgent help
        if delay > 0:
            limit_hit("telegram_person")
            if self.flood.first_slowed(pseudonym):
                with suppress(TelegramError):  # said once per flood, never stored
                    await self.bot.send_message(chat.id, say(SLOW_DOWN, user.language_code))
            async with self.lanes.aside():  # a flood costs its sender time, not a working slot other chats need
                await self.flood.sleep(delay)
        key = str(update.update_id)
        delivery = await self.dispatcher.handle(
            Envelope(
                CHANNEL, user_id, inbound, update_key=key,
                locale_hint=normalise_locale(user.language_code), address=str(chat.id), message_ref=message_ref,
                settles_answers=self._answers_in_webhook,
            )
        )
        self._answering.add(key)
        resumable = True
        if key in self._numbers_sent:  # they went out while the step waited: the rest only
            lead = _leading_numbers(delivery.replies)
            if lead and len(delivery.outbox_ids) == 1 and not delivery.forgotten:
                # counted on the stored row as sent, so a re-delivery after a crash (this memory gone) skips them too
                delivery.parts_sent = max(delivery.parts_sent, lead)
                await self.dispatcher.sent_parts(delivery.outbox_ids[0], delivery.parts_sent, delivery.session_id, [])
            else:
                delivery.replies = without_numbers(delivery.replies)
                resumable = False  # these parts are not the stored row's: counting them could skip the wrong ones
        await self.deliver(chat.id, delivery, resumable=resumable)

    async def deliver(self, chat_id: int, delivery: Delivery, *, resumable: bool = True) -> None:
        """Send a step's replies in order, then let them leave the outbox and remember what the chat shows.

        With replies in webhook answers, the last message rides in the answer and any before it go by
        request, each counted on the step's outbox row as it leaves (`Dispatcher.sent_parts`): a re-delivery
        (the answer never arrived, or the process died mid-step) sends only what had not gone out.

        A transient failure (network, timeout, flood wait beyond the retries) propagates: the webhook answers
        500 and Telegram re-delivers, which sends the still-pending replies. A refusal that no retry changes
        (the person blocked the bot, a malformed message) is logged and the replies are dropped.
        """
        replies = delivery.replies
        if delivery.forgotten:  # the chat's messages go first; the erasure's answer stays on the screen
            cleared = await clear_chat(self.bot, chat_id, delivery.trail, self.clock(),
                                       fill_gaps=self._answers_in_webhook)
            replies = _with_clear_notice(replies, cleared, delivery.locale)
        parts = compose(replies)
        row = delivery.outbox_ids[0] if resumable and len(delivery.outbox_ids) == 1 else None
        first = min(delivery.parts_sent, len(parts) - 1) if row is not None else 0  # the last always goes
        outcome = _OUTCOME.get()
        answer = outcome if outcome is not None and outcome.reply_allowed and outcome.reply is None else None
        sent: list[int] = []
        try:
            for index in range(first, len(parts)):
                part, last = parts[index], index == len(parts) - 1
                if last and answer is not None:  # no request of its own: it goes in the webhook's answer
                    if sent and not delivery.forgotten:  # sent by request, but not counted on a row
                        await self.dispatcher.delivered([], delivery.session_id, sent)
                    await self._take_send_budget()
                    answer.reply = _answer_of(chat_id, part)
                    return  # the row stays, marked, until the chat's next update settles it
                message = await self.bot.send_message(
                    chat_id, part.html, parse_mode=ParseMode.HTML, reply_markup=part.markup,
                    link_preview_options=NO_PREVIEW,
                )
                if row is not None and not last:
                    await self.dispatcher.sent_parts(row, index + 1, delivery.session_id, [message.message_id])
                else:
                    sent.append(message.message_id)
        except (BadRequest, Forbidden, ValueError) as exc:
            log.error("replies dropped: %s", type(exc).__name__, exc_info=exc)
        except TelegramError:
            if sent and not delivery.forgotten:
                await self.dispatcher.delivered([], delivery.session_id, sent)
            raise
        if not delivery.forgotten:
            await self.dispatcher.delivered(delivery.outbox_ids, delivery.session_id, sent)

    @property
    def budget(self) -> SendBudget | None:
        """This process's share of the bot-wide send limit; None when no limiter runs (tests, benchmarks)."""
        limiter = self.tuning.rate_limiter
        return limiter.budget if isinstance(limiter, BudgetedRateLimiter) else None

    async def _take_send_budget(self) -> None:
        """Wait for one send of the bot-wide budget (at once when it has room): Telegram counts a reply in the
        webhook's answer like any message, but reports no error when it refuses one."""
        budget = self.budget
        if budget is not None:
            await budget.take()

    async def send_relayed(self, session_id: str, address: str | None, replies: list[Outbound]) -> list[int]:
        """The relay's way out on Telegram: the counsellor's messages to the chat the person came from.

        A refusal no retry changes (the person blocked the bot) drops them; a transient error raises, so the
        outbox row stays and is tried again.
        """
        if address is None:
            return []
        sent: list[int] = []
        try:
            for part in compose(replies):
                message = await self.bot.send_message(
                    int(address), part.html, parse_mode=ParseMode.HTML, reply_markup=part.markup,
                    link_preview_options=NO_PREVIEW,
                )
                sent.append(message.message_id)
        except (BadRequest, Forbidden) as exc:
            log.error("relayed message dropped: %s", type(exc).__name__)
        return sent

    async def send_notice(self, chat_id: int, text: str) -> None:
        """A short notice to the counsellors' group (number, level, language, region: nothing more)."""
        with suppress(TelegramError):
            await self.bot.send_message(chat_id, text, link_preview_options=NO_PREVIEW)


def _leading_numbers(replies: list[Outbound]) -> int:
    """How many messages the urgent numbers at the head of a step's replies make, when every urgent reply of
    the step is at its head (they stand alone, so they are whole messages); else 0."""
    head = 0
    while head < len(replies) and replies[head].urgent:
        head += 1
    if head == 0 or any(r.urgent for r in replies[head:]):
        return 0
    return len(compose(replies[:head]))


def _answer_of(chat_id: int, part: Part) -> dict[str, Any]:
    """A sendMessage as the body of the webhook's answer (what PTB would have posted)."""
    reply: dict[str, Any] = {"method": "sendMessage", "chat_id": chat_id, "text": part.html,
                             "parse_mode": ParseMode.HTML.value, "link_preview_options": {"is_disabled": True}}
    markup = part.markup_json()
    if markup is not None:
        reply["reply_markup"] = markup
    return reply


async def _acknowledge(answer: Any) -> None:
    """answerCallbackQuery; a re-delivered or old query can no longer be answered, and that is fine."""
    with suppress(TelegramError):
        await answer


def _with_clear_notice(replies: list[Outbound], cleared: Cleared, locale: str | None) -> list[Outbound]:
    """Say what /forget could take off the screen, inside the last reply so its button stays last."""
    if not replies or (cleared.deleted == 0 and cleared.remaining == 0):
        return replies
    note = say(SOME_MESSAGES_REMAIN if cleared.remaining else CHAT_CLEARED, locale)
    last = replies[-1]
    return [*replies[:-1], Outbound(f"{last.text}\n\n{note}", last.buttons, last.urgent)]
