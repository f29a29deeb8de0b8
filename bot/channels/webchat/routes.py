"""The web chat over HTTP: the page at `/`, a WebSocket at `/chat/ws`, and a plain-HTTP fallback.

The fallback is for networks that block WebSockets: `POST /chat/send` carries one frame and answers with the
frames of its reply, `POST /chat/poll` waits up to `poll_seconds` for anything else (a counsellor's reply).
The token travels in the body, never in a URL (URLs reach access logs) and never in a cookie.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from bot.channels.webchat.chat import BadFrame, Frame, Peer, WebChat
from bot.channels.webchat.page import chat_page, widget_script
from bot.pages import page_language
from bot.security_log import repeated_event, security_event

log = logging.getLogger("baken.webchat")

WEBCHAT = web.AppKey("webchat", WebChat)
ORIGINS = web.AppKey("webchat_origins", tuple)
EXIT_URL = web.AppKey("webchat_exit_url", str)
STATIC = Path(str(files("bot.channels.webchat") / "static"))
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("webchat_sockets")
CLOSING = web.AppKey("webchat_closing", asyncio.Event)
IDLE_CLOSE = 4000  # WebSocket close code: closed after a quiet while; the page reconnects on the next action


def _origin_host(origin: str) -> str:
    return urlsplit(origin).netloc.lower()


def origin_allowed(request: web.Request) -> bool:
    """Our own pages, and the sites configured to embed the chat; a client without Origin is no browser."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if _origin_host(origin) == request.host.lower():
        return True
    return origin.rstrip("/") in request.app[ORIGINS]


def chat_csp(request: web.Request) -> str:
    """The page's policy. Its socket is `wss://` on a page served over HTTPS (directly, or as a trusted proxy
    says with X-Forwarded-Proto: bot/proxies.py), and the policy then names `wss://` alone, so not even a
    tampered script can open a plain `ws://` socket (ASVS 4.4.1). Only a page served over plain HTTP (`make
    run` on 127.0.0.1) may use `ws://`: browsers did not all count ws: as 'self', so it is named."""
    host = request.host
    sockets = f"wss://{host}" if request.scheme == "https" else f"ws://{host} wss://{host}"
    ancestors = " ".join(["'self'", *request.app[ORIGINS]])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {sockets}; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )


async def index(request: web.Request) -> web.Response:
    lang = page_language(request)
    embedded = request.query.get("embed") == "1"
    headers = {**NO_STORE, "Content-Security-Policy": chat_csp(request)}
    page = chat_page(lang, embedded=embedded, exit_url=request.app[EXIT_URL])
    return web.Response(text=page, content_type="text/html", headers=headers)


async def widget(request: web.Request) -> web.Response:
    origin = f"{request.scheme}://{request.host}"
    headers = {"Cache-Control": "public, max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"}
    return web.Response(text=widget_script(origin), content_type="text/javascript", headers=headers)


def _address(request: web.Request) -> str:
    return request.remote or "-"


async def websocket(request: web.Request) -> web.StreamResponse:
    chat = request.app[WEBCHAT]
    if not origin_allowed(request):
        security_event("chat_origin_refused", transport="websocket")
        raise web.HTTPForbidden(text="origin not allowed")
    address = _address(request)
    if not chat.open_connection(address):
        security_event("chat_connections_refused", reason="too_many_from_one_address")
        raise web.HTTPTooManyRequests(text="too many connections")
    ws = web.WebSocketResponse(heartbeat=25.0, max_msg_size=chat.limits.frame_bytes)
    sockets = request.app[SOCKETS]
    try:
        await ws.prepare(request)
        sockets.add(ws)
        peer = Peer(address)
        lock = asyncio.Lock()

        async def push(frames: list[Frame]) -> None:
            async with lock:
                for frame in frames:
                    await ws.send_str(json.dumps(frame, ensure_ascii=False))

        while True:
            try:
                msg = await ws.receive(timeout=chat.limits.idle_seconds)
            except TimeoutError:
                await ws.close(code=IDLE_CLOSE, message=b"idle")
                break
            if msg.type is not WSMsgType.TEXT:
                if msg.type in (WSMsgType.BINARY, WSMsgType.ERROR):  # ERROR: above max_msg_size, or broken
                    repeated_event("chat_frame_refused", transport="websocket",
                                   reason="binary" if msg.type is WSMsgType.BINARY else "too_big_or_broken")
                break
            frames = await _answer(chat, peer, msg.data, "websocket")
            if peer.token is not None and peer.listener is None:
                chat.listen(peer, push)
            elif peer.token is None:
                chat.unlisten(peer)
            await push(frames)
    finally:
        sockets.discard(ws)
        chat.close_connection(address)
        if "peer" in locals():
            chat.unlisten(peer)
    return ws


def bad_frame(transport: str, reason: str) -> list[Frame]:
    """A malformed frame: answered, and logged as a security event (ASVS 16.3.3) with a reason code only,
    never the frame, at most a line a minute per reason: the page never sends one, so something else did."""
    repeated_event("chat_frame_refused", transport=transport, reason=reason)
    return [{"type": "error", "reason": "bad_frame", "id": None}]


async def _answer(chat: WebChat, peer: Peer, raw: str | bytes, transport: str) -> list[Frame]:
    """Parse and handle one frame; bad input is answered, never raised at the person."""
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # json's errors are ValueErrors; absurd nesting recurses
        return bad_frame(transport, "not_json")
    try:
        if not isinstance(frame, dict):
            raise BadFrame("not an object")
        frames = await chat.handle(peer, frame)
        if isinstance(frame.get("id"), str):
            for out in frames:  # the page matches answers to what it sent (and sends again after a drop)
                out.setdefault("re", frame["id"])
        return frames
    except (ValueError, BadFrame, RecursionError):  # BadFrame is a ValueError: a field of the wrong kind
        return bad_frame(transport, "bad_field")
    except Exception:
        log.exception("web chat frame failed")
        return [{"type": "error", "reason": "failed", "id": None}]


async def _body(request: web.Request, chat: WebChat) -> dict[str, Any]:
    if not origin_allowed(request):
        security_event("chat_origin_refused", transport="http")
        raise web.HTTPForbidden(text="origin not allowed")
    if request.content_length is not None and request.content_length > chat.limits.frame_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=chat.limits.frame_bytes, actual_size=request.content_length)
    raw = await request.content.read(chat.limits.frame_bytes + 1)
    if len(raw) > chat.limits.frame_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=chat.limits.frame_bytes, actual_size=len(raw))
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        bad_frame("http", "not_json")
        raise web.HTTPBadRequest(text="not JSON") from exc
    if not isinstance(body, dict):
        bad_frame("http", "bad_field")
        raise web.HTTPBadRequest(text="not an object")
    return body


def _peer(body: dict[str, Any], address: str) -> Peer:
    token = body.get("token")
    lang = body.get("lang")
    return Peer(address, token if isinstance(token, str) else None, lang if isinstance(lang, str) else "nl")


async def send(request: web.Request) -> web.Response:
    """One frame over plain HTTP: {"token", "lang", "frame"} → {"frames": [...]}."""
    chat = request.app[WEBCHAT]
    body = await _body(request, chat)
    peer = _peer(body, _address(request))
    frame = body.get("frame")
    frames = await _answer(chat, peer, json.dumps(frame), "http") if isinstance(frame, dict) else bad_frame(
        "http", "bad_field")
    return web.json_response({"frames": frames}, headers=NO_STORE)


async def poll(request: web.Request) -> web.Response:
    """Wait for messages written for this session by someone else (a counsellor), up to `poll_seconds`."""
    chat = request.app[WEBCHAT]
    body = await _body(request, chat)
    peer = _peer(body, _address(request))
    if peer.token is None or not chat.per_address.take(peer.address):
        return web.json_response({"frames": []}, headers=NO_STORE)
    arrived: asyncio.Queue[list[Frame]] = asyncio.Queue()

    async def push(frames: list[Frame]) -> None:
        arrived.put_nowait(frames)

    chat.listen(peer, push)
    try:
        frames = await chat.pending(peer, unsent_only=True)
        if not frames:
            closing = request.app[CLOSING]
            got = asyncio.ensure_future(arrived.get())
            ending = asyncio.ensure_future(closing.wait())
            done, _ = await asyncio.wait({got, ending}, timeout=chat.limits.poll_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
            got.cancel()
            ending.cancel()
            frames = got.result() if got in done and not got.cancelled() else []
    finally:
        chat.unlisten(peer)
    return web.json_response({"frames": frames}, headers=NO_STORE)


async def resume(request: web.Request) -> web.Response:
    """A reference code typed on another device → the conversation's token, once."""
    chat = request.app[WEBCHAT]
    body = await _body(request, chat)
    typed = body.get("code")
    if not isinstance(typed, str) or len(typed) > 40:
        raise web.HTTPBadRequest(text="no code")
    token, reason = await chat.redeem(_address(request), typed)
    status = 200 if token else (429 if reason == "code_tries" else 404)
    payload = {"token": token} if token else {"error": reason}
    return web.json_response(payload, status=status, headers=NO_STORE)


def add_webchat(
    app: web.Application, chat_factory: Any, *, origins: tuple[str, ...], exit_url: str,
) -> None:
    """Mount the chat on `app`; `chat_factory()` builds the WebChat once the services exist."""
    app[ORIGINS] = origins
    app[EXIT_URL] = exit_url

    async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
        chat: WebChat = chat_factory(app)
        app[WEBCHAT] = chat
        await chat.start()
        try:
            yield
        finally:
            await chat.stop()

    app[SOCKETS] = weakref.WeakSet()
    app[CLOSING] = asyncio.Event()

    async def going_away(app: web.Application) -> None:
        """The server stops: waiting polls answer now, sockets close (the page reconnects to another)."""
        app[CLOSING].set()
        open_now = app[SOCKETS]
        for ws in list(open_now):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    app.cleanup_ctx.append(chat_ctx)
    app.on_shutdown.append(going_away)
    app.router.add_get("/", index)
    app.router.add_get("/widget.js", widget)
    app.router.add_get("/chat/ws", websocket)
    app.router.add_post("/chat/send", send)
    app.router.add_post("/chat/poll", poll)
    app.router.add_post("/chat/resume", resume)
    app.router.add_static("/chat/static", STATIC, append_version=False)
