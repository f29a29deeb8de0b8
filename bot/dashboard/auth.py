"""Who is asking, and may they: the session cookie, CSRF tokens, the declared action of every route, and
the security headers of every answer. One middleware, so no route can forget any of it."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.desk import Conflict, Denied, DeskService, SignedIn
from bot.security_log import security_event
from handover.lifecycle import LifecycleError
from handover.permissions import TICKET_ACTIONS, Action, allowed, lost_claim

log = logging.getLogger("baken.dashboard")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

DESK = web.AppKey("desk", DeskService)
DEV = web.AppKey("dev", bool)
#: the request's SignedIn (a typed key where aiohttp has them)
ME: Any = web.RequestKey("me", SignedIn) if hasattr(web, "RequestKey") else "baken_me"
SECURE_COOKIE = "__Host-baken_session"
DEV_COOKIE = "baken_dev_session"  # plain HTTP on 127.0.0.1 cannot keep a __Host- cookie
LOGIN_COOKIE = "__Host-baken_login"  # __Host- asks Secure and Path=/: no other path or subdomain can set it
DEV_LOGIN_COOKIE = "baken_dev_login"
#: the largest row id the database keeps (a signed 64-bit integer); a longer digit run names no row
MAX_ID = 2**63 - 1
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_ACTION_ATTR = "__baken_action__"
_FIRST_ATTR = "__baken_before_own_password__"


def declare(action: Action) -> Callable[[H], H]:
    """Every dashboard route says which action it performs; the middleware refuses a route that does not."""
    def mark(handler: H) -> H:
        setattr(handler, _ACTION_ATTR, action)
        return handler

    return mark


def before_own_password(handler: H) -> H:
    """A route a counsellor signed in with a one-time password may use; every other one sends them to choose
    their own password first (ASVS 6.4.1)."""
    setattr(handler, _FIRST_ATTR, True)
    return handler


def declared(handler: Any) -> Action | None:
    action = getattr(handler, _ACTION_ATTR, None)
    return action if isinstance(action, Action) else None


def cookie_name(request: web.Request) -> str:
    return DEV_COOKIE if request.app[DEV] else SECURE_COOKIE


def login_cookie_name(request: web.Request) -> str:
    return DEV_LOGIN_COOKIE if request.app[DEV] else LOGIN_COOKIE


def row_id(raw: str) -> int | None:
    """A row id from a URL or form: ASCII digits within 1..2**63-1, else None (the caller answers 404 or 400),
    so no digit run can overflow the database's integer and answer 500."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    dev = request.app[DEV]
    response.set_cookie(cookie_name(request), token, path="/", httponly=True, secure=not dev, samesite="Strict",
                        max_age=12 * 3600)


def me_of(request: web.Request) -> SignedIn:
    me = request.get(ME)
    assert isinstance(me, SignedIn), "only routes behind the session check ask who is signed in"
    return me


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        sent = str(form.get("csrf", ""))
    return _same(sent, expected)


def _headers(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")


def _refuse(request: web.Request, status: int, text: str) -> web.Response:
    from bot.dashboard.pages import error_page

    return error_page(request, status, text)


def _route(request: web.Request) -> str:
    """The route's pattern (`/dashboard/tickets/{ticket}`), never the path with its ticket number."""
    return request.match_info.route.resource.canonical if request.match_info.route.resource else "?"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/dashboard":  # the sub-app's own root is /dashboard/
        raise web.HTTPMovedPermanently("/dashboard/")
    if request.match_info.http_exception is not None:  # no such route (404) or method (405)
        response_404: web.StreamResponse = await handler(request)
        _headers(response_404)
        return response_404
    action = declared(request.match_info.handler)
    if action is None:
        log.error("dashboard route %s declares no action: refused", request.path)
        response: web.StreamResponse = web.Response(status=500, text="this route declares no action")
        _headers(response)
        return response
    try:
        if action is not Action.PUBLIC:
            token = request.cookies.get(cookie_name(request), "")
            # the live channel and the page's own refreshes are not activity: a screen left open still idles out
            live = request.path.endswith("/events") or request.headers.get("X-Live") == "1"
            me = await request.app[DESK].signed_in(token, touch=not live) if token else None
            if me is None:
                if request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", ""):
                    raise web.HTTPSeeOther("/dashboard/login")
                response = web.Response(status=401, text="signed out")
                _headers(response)
                return response
            request[ME] = me
            if me.must_change and not getattr(request.match_info.handler, _FIRST_ATTR, False):
                raise web.HTTPSeeOther("/dashboard/account")
            if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, me.csrf):
                security_event("csrf_refused", route=_route(request), role=me.role.value)
                response = _refuse(request, 403, "csrf")
                _headers(response)
                return response
            if action in TICKET_ACTIONS:
                # permission before anything else about the request; the desk checks again in its transaction
                ticket_id = row_id(request.match_info.get("ticket", ""))
                if ticket_id is None:  # no row can have this number: as for a path that names no route
                    response = web.Response(status=404, text="404: Not Found")
                    _headers(response)
                    return response
                facts = await request.app[DESK].facts(ticket_id)
                if facts is None or not allowed(action, me.actor, facts):
                    if action is Action.CLAIM and facts is not None and lost_claim(me.actor, facts):
                        raise Conflict("a colleague claimed it first")
                    raise Denied(action.value)
            elif not allowed(action, me.actor):
                raise Denied(action.value)
        response = await handler(request)
    except Denied:
        me = request.get(ME)
        security_event("authorisation_refused", action=action.value, route=_route(request),
                       role=me.role.value if isinstance(me, SignedIn) else "none")
        response = _refuse(request, 403, "denied")
    except Conflict:
        response = _refuse(request, 409, "conflict")
    except LifecycleError as exc:
        response = _refuse(request, 400, str(exc))
    _headers(response)
    return response
