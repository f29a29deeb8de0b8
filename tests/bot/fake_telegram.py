"""A small fake of Telegram's Bot API on loopback: PTB's real HTTP stack talks to it as to api.telegram.org.

It answers the methods Baken calls, records every call (method and decoded parameters), hands queued
updates to getUpdates (long polling without sleeping: the request waits on an event), and can be told to fail
a method once (a 429 with retry_after, a 500). Updates are built as Telegram documents them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123456789:AAFakeTokenForBakenTests-0123456789abc"
BOT_ID = 123456789
BOT_USERNAME = "BakenTestBot"
#: parameters PTB sends as plain strings; every other value is JSON-encoded
_STRINGS = frozenset({"text", "callback_query_id", "url", "secret_token", "language_code", "parse_mode"})


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    failed: bool = False  # the fake was told to refuse it
    result: Any = None  # what the fake answered (sendMessage: the Message, with its message_id)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # part -> (file name, type, bytes)
    in_answer: bool = False  # the bot gave it as its webhook answer (no request of its own)

    @property
    def message_id(self) -> int:
        return int(self.result["message_id"])

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(callback_data, label) of an inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [(b["callback_data"], b["text"]) for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None
    after: int = 0  # calls of the method answered before this one fails


@dataclass
class FakeBotAPI:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._queued = asyncio.Event()
        self._called = asyncio.Condition()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._server: TestServer | None = None
        self.url = ""

    # ------------------------------------------------------------------ serving
    async def start(self) -> str:
        """Serve on a free loopback port; returns the root URL to give PTB (BAKEN_TELEGRAM_API_URL)."""
        app = web.Application(client_max_size=2**24)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        self._queued.set()
        if self._server is not None:
            await self._server.close()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        form = await request.post()
        params = {k: (v if k in _STRINGS else _decode(str(v))) for k, v in form.items()
                  if not isinstance(v, web.FileField)}
        # an uploaded file (multipart): its name, type and bytes, as Telegram would receive them
        files = {k: (v.filename, v.content_type, v.file.read())
                 for k, v in form.items() if isinstance(v, web.FileField)}
        call = Call(method, params, files=files)
        self.calls.append(call)
        if method == "getUpdates":
            await self._notify()
            return _ok(await self._get_updates(params))
        f = self._failure(method)
        if f is not None:
            call.failed = True
            response = _error(f.status, f.description, f.retry_after)
        else:
            call.result = self._answer(call)
            response = _ok(call.result) if call.result is not None else _error(404, "Not Found: method not found")
        await self._notify()
        return response

    def _failure(self, method: str) -> _Failure | None:
        """The failure this call of `method` meets, if one is due."""
        failures = self._failures.get(method)
        if not failures:
            return None
        if failures[0].after > 0:
            failures[0].after -= 1
            return None
        return failures.pop(0)

    async def _notify(self) -> None:
        async with self._called:
            self._called.notify_all()

    def _answer(self, call: Call) -> Any:
        if call.method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Baken", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        if call.method == "sendMessage":
            chat_id = call.chat_id or 0
            # a private chat numbers the person's and the bot's messages in one sequence, as Telegram does
            message_id = next(_message_ids) if chat_id > 0 else next(
                self._message_ids.setdefault(chat_id, itertools.count(10_000)))
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
            if chat_id < 0:
                chat["title"] = "A group"
            return {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": call.text,
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Baken", "username": BOT_USERNAME}}
        if call.method == "sendDocument" and call.files:
            chat_id = call.chat_id or 0
            message_id = next(self._message_ids.setdefault(chat_id, itertools.count(10_000)))
            name, mime, body = next(iter(call.files.values()))
            return {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                    "document": {"file_id": f"doc{message_id}", "file_unique_id": f"u{message_id}",
                                 "file_name": name, "mime_type": mime, "file_size": len(body)}}
        if call.method == "setWebhook":
            self.webhook = dict(call.params)
            return True
        if call.method in ("answerCallbackQuery", "deleteMessages", "setMyCommands", "deleteWebhook", "leaveChat"):
            return True
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and float(params.get("timeout") or 0) > 0:
            self._queued.clear()
            try:
                await asyncio.wait_for(self._queued.wait(), float(params["timeout"]))
            except TimeoutError:
                return []
        return list(self._updates[: int(params.get("limit") or 100)])

    async def run_answer(self, answer: dict[str, Any]) -> Call:
        """A method the bot gave as its webhook answer, run as Telegram runs it: recorded like a request,
        answered the same, its outcome never reported to the bot (a refusal is silent)."""
        params = {k: v for k, v in answer.items() if k != "method"}
        call = Call(str(answer["method"]), params, in_answer=True)
        self.calls.append(call)
        if self._failure(call.method) is not None:
            call.failed = True
        else:
            call.result = self._answer(call)
        await self._notify()
        return call

    # ------------------------------------------------------------------ steering
    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates (polling mode)."""
        self._updates.append(update)
        self._queued.set()

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None, *,
                  after: int = 0) -> None:
        """Refuse a coming call of `method`: the next one, or the one after `after` answered calls."""
        self._failures.setdefault(method, []).append(_Failure(status, description, retry_after, after))

    async def called(self, method: str, chat_id: int | None = None) -> Call:
        """The first answered call of `method` (to `chat_id`), awaited on a condition, never polled with sleep."""
        async with self._called:
            await self._called.wait_for(lambda: bool(self.of(method, chat_id)))
        return self.of(method, chat_id)[0]

    def of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Calls of `method` that the fake answered (refused ones are left out), optionally to one chat."""
        return [c for c in self.calls
                if c.method == method and not c.failed and (chat_id is None or c.chat_id == chat_id)]


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


# ---------------------------------------------------------------------- updates, as Telegram sends them
_update_ids = itertools.count(500_000_000)
_message_ids = itertools.count(1)


@dataclass(frozen=True)
class Person:
    """A Telegram account: everything here is what Baken must never store or log (except via a pseudonym)."""

    id: int
    first_name: str
    language_code: str | None
    username: str | None = None
    last_name: str | None = None

    def user(self) -> dict[str, Any]:
        u: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                u[key] = getattr(self, key)
        return u

    def private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


def message(person: Person, *, chat: dict[str, Any] | None = None, kind: str = "message",
            update_id: int | None = None, **content: Any) -> dict[str, Any]:
    """An update carrying a message (or edited_message, channel_post) with the given content fields."""
    msg: dict[str, Any] = {
        "message_id": next(_message_ids), "date": int(time.time()), "chat": chat or person.private_chat(),
        "from": person.user(), **content,
    }
    if kind == "edited_message":
        msg["edit_date"] = int(time.time())
    return {"update_id": update_id or next(_update_ids), kind: msg}


def text(person: Person, body: str, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"text": body}
    if body.startswith("/"):
        command = body.split(" ", 1)[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return message(person, **content, **extra)


def press(person: Person, data: str, message_id: int = 1, date: int | None = None) -> dict[str, Any]:
    """A callback query from an inline button under one of the bot's messages (date 0: inaccessible)."""
    msg: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()) if date is None else date,
        "chat": person.private_chat(),
    }
    if msg["date"]:
        msg["from"] = {"id": BOT_ID, "is_bot": True, "first_name": "Baken", "username": BOT_USERNAME}
        msg["text"] = "…"
    return {
        "update_id": next(_update_ids),
        "callback_query": {"id": str(next(_update_ids)), "from": person.user(), "chat_instance": "42",
                           "message": msg, "data": data},
    }


def added_to_group(person: Person, chat_id: int, title: str = "Family group") -> dict[str, Any]:
    """my_chat_member: someone added the bot to a group."""
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Baken", "username": BOT_USERNAME}
    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": {"id": chat_id, "type": "group", "title": title}, "from": person.user(),
            "date": int(time.time()),
            "old_chat_member": {"user": bot, "status": "left"},
            "new_chat_member": {"user": bot, "status": "member"},
        },
    }


# ---------------------------------------------------------------------- Baken's real server, wired to the fake
class BakenOnTelegram:
    """Baken's aiohttp app with Telegram on, its Bot API pointed at the fake, in webhook or polling mode.

    `send` hands one update over the way Telegram would (a POST with the secret, or a getUpdates answer) and
    returns once Baken is done with it: the HTTP answer in webhook mode, the channel's on_handled in polling.
    """

    def __init__(self, fake: FakeBotAPI, settings: Any, mode: str, tuning: Any) -> None:
        from aiohttp.test_utils import TestClient

        from bot.channels.telegram.webhook import webhook_secret
        from bot.server import make_app

        self.fake = fake
        self.mode = mode
        self.settings = settings
        self.secret = webhook_secret(settings)
        self._waiting: dict[int, asyncio.Future[None]] = {}
        tuning.on_handled = self._handled
        self.app = make_app(settings, telegram=tuning)
        self.client: TestClient[Any, Any] = TestClient(TestServer(self.app, host="127.0.0.1"))
        self._last_keyboard: dict[int, tuple[int, list[tuple[str, str]]]] = {}
        self.typed: dict[int, list[int]] = {}  # person id -> ids of the messages they sent

    async def start(self) -> None:
        await self.client.start_server()

    async def close(self) -> None:
        await self.client.close()

    @property
    def services(self) -> Any:
        from bot.server import SERVICES

        return self.app[SERVICES]

    @property
    def channel(self) -> Any:
        from bot.channels.telegram.webhook import TELEGRAM

        return self.app[TELEGRAM]

    def _handled(self, update_id: int) -> None:
        future = self._waiting.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def post(self, update: dict[str, Any], secret: str | None = "") -> int:
        """POST an update to the webhook route; secret "" means the right one, None means no header."""
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret or self.secret}
        response = await self.client.post("/telegram/webhook", json=update, headers=headers)
        body = await response.read()
        if response.status == 200 and body and response.content_type == "application/json":
            await self.fake.run_answer(json.loads(body))  # as Telegram does with a method in the answer
        return response.status

    async def send(self, update: dict[str, Any]) -> int:
        if self.mode == "webhook":
            return await self.post(update)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[update["update_id"]] = future
        self.fake.push(update)
        await asyncio.wait_for(future, 10)
        return 200

    async def step(self, person: Person, step: str) -> list[Call]:
        """Type a text, or press the button `#data` that the bot last showed this person; the replies."""
        before = len(self.fake.calls)
        if step.startswith("#"):
            message_id, keyboard = self._last_keyboard.get(person.id, (1, []))
            offered = [data for data, _ in keyboard]
            assert step[1:] in offered, f"{step} is not on the last keyboard: {offered}"
            status = await self.send(press(person, step[1:], message_id))
        else:
            update = text(person, step)
            self.typed.setdefault(person.id, []).append(update["message"]["message_id"])
            status = await self.send(update)
        assert status == 200
        replies = [c for c in self.fake.calls[before:]
                   if c.method == "sendMessage" and not c.failed and c.chat_id == person.id]
        for call in replies:
            if call.buttons:
                self._last_keyboard[person.id] = (call.message_id, call.buttons)
        return replies

    async def converse(self, person: Person, steps: list[str]) -> list[Call]:
        replies: list[Call] = []
        for s in steps:
            replies += await self.step(person, s)
        return replies


async def on_webhook(data_dir: Path, tuning: Any, *, webhook_reply: bool = True
                     ) -> tuple[FakeBotAPI, BakenOnTelegram]:
    """A fresh fake Bot API and Baken on its webhook in front of it, both started; `webhook_reply` False sends
    every reply by request."""
    from bot.settings import Settings
    from tests.server_keys import TEST_KEY

    fake = FakeBotAPI()
    await fake.start()
    settings = Settings(
        data_dir=data_dir, secret_key=TEST_KEY, telegram_token=TOKEN, telegram_api_url=fake.url,
        telegram_webhook_url="https://baken.example/telegram/webhook", telegram_webhook_reply=webhook_reply,
    )
    baken = BakenOnTelegram(fake, settings, "webhook", tuning)
    await baken.start()
    return fake, baken


async def raw_post(port: int, secret: bytes, body: bytes) -> int:
    """POST bytes to the webhook as they are, as a broken or hostile client could (no client library cleans
    them); the status code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()
    line = await reader.readline()
    writer.close()
    return int(line.split()[1])
