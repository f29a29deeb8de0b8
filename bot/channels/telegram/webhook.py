"""Telegram's webhook as a route on Baken's own aiohttp server: checked, handled and committed, then 200."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from aiohttp import web

from bot.channels.telegram.channel import RETRY_AFTER, Handled, TelegramChannel, WebhookAnswer
from bot.security_log import security_event
from bot.settings import Settings

log = logging.getLogger("baken.telegram")
TELEGRAM = web.AppKey("telegram", TelegramChannel)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PREFIX = "/telegram"  # the area on the server; Telegram posts to PREFIX + "/webhook"
PATH = f"{PREFIX}/webhook"


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or one derived from the server secret: stable across restarts and processes."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hmac.new(settings.secret, b"baken:telegram-webhook-secret", hashlib.sha256).hexdigest()


async def receive(request: web.Request) -> web.Response:
    """A wrong or missing secret is refused before anything is read; a failed update answers 500 and one the
    server cannot take now 503 (or 429 for a chat with too many waiting), with Retry-After: Telegram delivers
    it again, nothing is dropped."""
    channel = request.config_dict[TELEGRAM]
    given = request.headers.get(SECRET_HEADER, "")
    # aiohttp keeps undecodable header bytes as surrogates: compare bytes, so they fail as a wrong secret
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), channel.webhook_secret.encode()):
        security_event("webhook_secret_refused", given="none" if not given else "wrong")
        return web.Response(status=401, text="unauthorized")
    try:
        payload = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
        return web.Response(status=400, text="not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        return web.Response(status=400, text="not an update")
    try:
        answer = await channel.answer_webhook(payload)
    except ValueError:
        return web.Response(status=400, text="not an update")
    handled = answer.handled
    if handled in (Handled.BUSY, Handled.CHAT_BUSY):
        return web.Response(status=handled, headers={"Retry-After": str(RETRY_AFTER)}, text="busy, retry later")
    if answer.reply is None:
        return web.Response(status=handled)
    return await _reply_in_answer(request, channel, answer)


async def _reply_in_answer(request: web.Request, channel: TelegramChannel, answer: WebhookAnswer) -> web.Response:
    """The step's one message as the webhook's answer (Telegram runs it as a Bot API call).

    Nothing is recorded after the answer is written (the connection's next update, which may be urgent,
    would wait for it): the step's outbox row was written marked for an answer, and stays until the chat's
    next update shows Telegram read it. If the connection fails first, Telegram did not read the answer and
    delivers the update again, which answers with the same row.
    """
    response = web.Response(body=json.dumps(answer.reply, ensure_ascii=False).encode(),
                            content_type="application/json")
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:  # aiohttp's ClientConnectionResetError among them
        log.warning("webhook answer not written: the reply stays in the outbox for the re-delivery")
        return response
    return response


def webhook_app() -> web.Application:
    """The /telegram area: one route, so the rest of the server never sees Telegram's traffic."""
    app = web.Application()
    app.router.add_post("/webhook", receive)
    return app
