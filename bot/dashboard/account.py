"""The counsellor's own account: change their password (and choose their first one), see their dashboard
sessions and end any of them. Every route is behind the session check and its CSRF token like the others."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.dashboard.auth import DESK, before_own_password, declare, me_of
from bot.dashboard.pages import render
from bot.desk import session_handle
from bot.security_log import security_event
from content.i18n import N_
from handover.permissions import Action

routes = web.RouteTableDef()

#: why a new password was refused, as the counsellor reads it (the codes come from DeskService.change_password)
PASSWORD_ERRORS = {
    "wrong": N_("The current password is not right."),
    "locked": N_("Too many failed attempts. Wait 30 minutes, or ask a supervisor."),
    "differ": N_("The two new passwords are not the same. Please type it twice the same way."),
    "same": N_("The new password must be different from the current one."),
    "short": N_("The new password is too short: it needs at least 12 characters. A sentence of a few words is "
                "long enough and easy to remember."),
    "long": N_("The new password is too long: it can have at most 256 characters."),
    "common": N_("This password is one of the most common ones, so it is among the first anyone would try. "
                 "Please choose another."),
    "context": N_("This password contains your name, 'Baken' or a word about the helpline, which makes it easy "
                  "to guess. Please choose another."),
}
NOTICES = {
    "changed": N_("Your new password is saved. Your other sessions have been ended."),
    "ended": N_("The session has been ended."),
}


@routes.get("/account")
@declare(Action.SIGNED_IN)
@before_own_password
async def account_page(request: web.Request) -> web.StreamResponse:
    me = me_of(request)
    sessions = [] if me.must_change else await request.app[DESK].sessions(me)
    error = request.query.get("error", "")
    notice = request.query.get("notice", "")
    return render(request, "account.html", {
        "sessions": sessions, "error": PASSWORD_ERRORS.get(error, ""), "notice": NOTICES.get(notice, ""),
    })


@routes.post("/account/password")
@declare(Action.SIGNED_IN)
@before_own_password
async def change_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    error = await request.app[DESK].change_password(
        me_of(request), str(form.get("current", "")), str(form.get("new", "")), str(form.get("again", "")),
        request.remote or "unknown")
    if error in ("wrong", "locked"):  # a wrong current password is a failed authentication (ASVS 16.3.1)
        security_event("password_change_failed", reason=error)
    if error is not None:
        raise web.HTTPSeeOther(f"/dashboard/account?error={error}")
    security_event("password_changed", logging.INFO)
    raise web.HTTPSeeOther("/dashboard/account?notice=changed")


@routes.post("/account/sessions/{session}/end")
@declare(Action.SIGNED_IN)
async def end_session(request: web.Request) -> web.StreamResponse:
    me = me_of(request)
    handle = request.match_info["session"]
    if not await request.app[DESK].end_own_session(me, handle):
        raise web.HTTPNotFound()
    if handle == session_handle(me.session_key):  # this very browser: signed out like the button does
        raise web.HTTPSeeOther("/dashboard/login")
    raise web.HTTPSeeOther("/dashboard/account?notice=ended")
