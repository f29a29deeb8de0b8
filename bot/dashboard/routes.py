"""The dashboard's routes: each declares its action; each is a thin call into the desk service."""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import logging
from pathlib import Path

from aiohttp import web

from bot.dashboard import charts
from bot.dashboard.auth import (
    DESK,
    DEV,
    before_own_password,
    cookie_name,
    declare,
    login_cookie_name,
    me_of,
    new_login_token,
    row_id,
    set_session_cookie,
)
from bot.dashboard.pages import render
from bot.desk import EXPLANATIONS
from bot.pages import STALE_MONTHS
from bot.security_log import security_event
from content.i18n import LOCALES
from handover.lifecycle import OUTCOME_LABELS, Closing, LifecycleError, Outcome
from handover.permissions import Action, allowed
from handover.queue_rules import LEVEL_ORDER
from handover.statistics import build_report, csv_rows

STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}  # UTF-8 files
routes = web.RouteTableDef()


def _ticket_id(request: web.Request) -> int:
    ticket_id = row_id(request.match_info["ticket"])
    if ticket_id is None:
        raise web.HTTPNotFound()
    return ticket_id


def _back(ticket_id: int, notice: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/dashboard/tickets/{ticket_id}" + (f"?notice={notice}" if notice else ""))


def _is_fetch(request: web.Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


# ---------------------------------------------------------------------- signing in and out
@routes.get("/login")
@declare(Action.PUBLIC)
async def login_form(request: web.Request) -> web.StreamResponse:
    token = new_login_token()
    response = render(request, "login.html", {"login_csrf": token, "error": request.query.get("error", "")})
    response.set_cookie(login_cookie_name(request), token, path="/", httponly=True, samesite="Strict",
                        secure=not request.app[DEV])
    return response


@routes.post("/login")
@declare(Action.PUBLIC)
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    expected = request.cookies.get(login_cookie_name(request), "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")).encode(errors="replace"), expected.encode()):
        security_event("sign_in_form_refused", reason="expired" if not expected else "csrf")
        raise web.HTTPSeeOther("/dashboard/login?error=expired")
    result = await request.app[DESK].login(
        str(form.get("name", "")), str(form.get("password", "")), str(form.get("code", "")),
        request.remote or "unknown")
    if result.token is None:
        security_event("sign_in_failed", reason=result.error or "wrong")
        raise web.HTTPSeeOther(f"/dashboard/login?error={result.error}")
    security_event("sign_in", logging.INFO)
    previous = request.cookies.get(cookie_name(request), "")
    if previous:  # a session this browser already had ends now: a new token at each sign-in, never two
        await request.app[DESK].logout(previous)
    response = web.HTTPSeeOther("/dashboard/?notice=signed_in")
    set_session_cookie(request, response, result.token)
    response.del_cookie(login_cookie_name(request), path="/", secure=not request.app[DEV])
    raise response


@routes.post("/logout")
@declare(Action.SIGNED_IN)
@before_own_password
async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[DESK].logout(request.cookies.get(cookie_name(request), ""))
    response = web.HTTPSeeOther("/dashboard/login")
    response.del_cookie(cookie_name(request), path="/", secure=not request.app[DEV])  # __Host- needs Secure
    raise response


@routes.post("/language")
@declare(Action.SIGNED_IN)
@before_own_password
async def language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    lang = str(form.get("lang", ""))
    if lang in LOCALES:
        await request.app[DESK].set_ui_locale(me_of(request), lang)
    raise web.HTTPSeeOther("/dashboard/")


@routes.get("/static/{name}")
@declare(Action.PUBLIC)
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_TYPES:
        raise web.HTTPNotFound()
    return web.Response(body=(STATIC / name).read_bytes(), content_type=STATIC_TYPES[name], charset="utf-8",
                        headers={"Cache-Control": "max-age=3600"})


# ---------------------------------------------------------------------- the queue
@routes.get("/")
@declare(Action.SIGNED_IN)
async def queue_page(request: web.Request) -> web.StreamResponse:
    me = me_of(request)
    rows, visible, total = await request.app[DESK].queue(me, QUEUE_ROWS)
    notice = request.query.get("notice", "")
    previous, failed = await request.app[DESK].previous_sign_in(me) if notice == "signed_in" else (None, 0)
    return render(request, "queue.html", {"rows": rows, "shown": len(rows), "visible": visible, "total": total,
                                          "notice": notice, "previous": previous, "failed": failed})


@routes.post("/queue/next")
@declare(Action.SIGNED_IN)
async def take_next(request: web.Request) -> web.StreamResponse:
    """Claim the first ticket this counsellor may take and open it; back to the queue when there is none."""
    taken = await request.app[DESK].take_next(me_of(request))
    if taken is None:
        raise web.HTTPSeeOther("/dashboard/?notice=none")
    raise _back(taken, "claimed")


@routes.get("/queue/rows")
@declare(Action.SIGNED_IN)
async def queue_rows(request: web.Request) -> web.StreamResponse:
    rows, visible, total = await request.app[DESK].queue(me_of(request), QUEUE_ROWS)
    return render(request, "queue_rows.html", {"rows": rows, "shown": len(rows), "visible": visible,
                                               "total": total})


QUEUE_ROWS = 100  # the top of the queue: nobody takes the 101st ticket before the first


# ---------------------------------------------------------------------- one ticket
@routes.get("/tickets/{ticket}")
@declare(Action.VIEW_TICKET)
async def ticket_page(request: web.Request) -> web.StreamResponse:
    me = me_of(request)
    desk = request.app[DESK]
    view = await desk.view(me, _ticket_id(request))
    from handover.permissions import TicketFacts

    facts = TicketFacts(view.status, view.locale, view.holder_id)
    can = {a.value: allowed(a, me.actor, facts) for a in Action}
    return render(request, "ticket.html", {
        "tk": view, "can": can, "explanations": EXPLANATIONS, "canned": await desk.canned(view.locale),
        "colleagues": [c for c in await desk.colleagues() if c[0] != me.counsellor_id],
        "outcomes": [(o.value, label) for o, label in OUTCOME_LABELS.items()],
        "notice": request.query.get("notice", ""), "last_id": view.messages[-1].id if view.messages else 0,
    })


@routes.post("/tickets/{ticket}/claim")
@declare(Action.CLAIM)
async def claim(request: web.Request) -> web.StreamResponse:
    ticket_id = _ticket_id(request)
    await request.app[DESK].claim(me_of(request), ticket_id)
    raise _back(ticket_id, "claimed")


@routes.post("/tickets/{ticket}/release")
@declare(Action.RELEASE)
async def release(request: web.Request) -> web.StreamResponse:
    await request.app[DESK].release(me_of(request), _ticket_id(request))
    raise web.HTTPSeeOther("/dashboard/")


@routes.post("/tickets/{ticket}/transfer")
@declare(Action.TRANSFER)
async def transfer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = str(form.get("to", ""))
    to: int | None = None
    locale: str | None = None
    if target.startswith("c:") and (colleague := row_id(target[2:])) is not None:
        to = colleague
    elif target.startswith("l:") and target[2:] in LOCALES:
        locale = target[2:]
    else:
        raise LifecycleError("choose a colleague or a language")
    await request.app[DESK].transfer(me_of(request), _ticket_id(request), to=to, locale=locale,
                                     reason=str(form.get("reason", "")))
    raise web.HTTPSeeOther("/dashboard/")


@routes.post("/tickets/{ticket}/reply")
@declare(Action.REPLY)
async def reply(request: web.Request) -> web.StreamResponse:
    ticket_id = _ticket_id(request)
    form = await request.post()
    await request.app[DESK].reply(me_of(request), ticket_id, str(form.get("text", "")))
    if _is_fetch(request):
        return web.json_response({"ok": True})
    raise _back(ticket_id)


@routes.post("/tickets/{ticket}/note")
@declare(Action.NOTE)
async def note(request: web.Request) -> web.StreamResponse:
    ticket_id = _ticket_id(request)
    form = await request.post()
    await request.app[DESK].note(me_of(request), ticket_id, str(form.get("text", "")),
                                 [str(x) for x in form.getall("explanation", [])])
    raise _back(ticket_id, "noted")


@routes.post("/tickets/{ticket}/review")
@declare(Action.ASK_REVIEW)
async def review(request: web.Request) -> web.StreamResponse:
    ticket_id = _ticket_id(request)
    form = await request.post()
    await request.app[DESK].ask_review(me_of(request), ticket_id, str(form.get("reason", "")))
    raise _back(ticket_id, "review")


@routes.post("/tickets/{ticket}/close")
@declare(Action.CLOSE)
async def close(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        outcome = Outcome(str(form.get("outcome", "")))
    except ValueError as exc:
        raise LifecycleError("choose an outcome") from exc
    await request.app[DESK].close(me_of(request), _ticket_id(request), Closing(outcome, str(form.get("detail", ""))))
    raise web.HTTPSeeOther("/dashboard/?notice=closed")


@routes.post("/tickets/{ticket}/reopen")
@declare(Action.REOPEN)
async def reopen(request: web.Request) -> web.StreamResponse:
    ticket_id = _ticket_id(request)
    await request.app[DESK].reopen(me_of(request), ticket_id)
    raise _back(ticket_id, "reopened")


# ---------------------------------------------------------------------- supervisors
@routes.get("/audit")
@declare(Action.VIEW_AUDIT)
async def audit_page(request: web.Request) -> web.StreamResponse:
    entries, check = await request.app[DESK].audit_log(me_of(request))
    return render(request, "audit.html", {"entries": entries, "check": check})


async def _report(request: web.Request, days: int = 30):  # type: ignore[no-untyped-def]
    desk = request.app[DESK]
    now = dt.datetime.now(dt.UTC)
    rows = await desk.stat_rows(now - dt.timedelta(days=days + 1))
    return build_report(rows, now=now, days=days, targets=desk.targets)


@routes.get("/contacts")
@declare(Action.SIGNED_IN)
async def contacts_page(request: web.Request) -> web.StreamResponse:
    """The services Baken shows, with what is known of each: counsellors refer on with the caveats in view."""
    from bot.server import SERVICES  # the app's loaded content, not the YAML again on every page view

    directory = request.config_dict[SERVICES].engine.content.directory
    unconfirmed = directory.unconfirmed()
    stale = {c.id for c in directory.stale(months=request.config_dict.get(STALE_MONTHS, 12), today=dt.date.today())}
    return render(request, "contacts.html", {"unconfirmed": unconfirmed, "total": len(directory), "stale": stale})


@routes.get("/stats")
@declare(Action.VIEW_STATS)
async def stats_page(request: web.Request) -> web.StreamResponse:
    report = await _report(request)
    survey = await request.app[DESK].survey(dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    languages = list(LOCALES)
    return render(request, "stats.html", {
        "report": report,
        "levels_chart": charts.stacked_bars(report.days, report.by_level, LEVEL_ORDER, "tickets per day by level"),
        "levels_legend": charts.legend(LEVEL_ORDER),
        "lang_chart": charts.stacked_bars(report.days, report.by_language, languages, "tickets per day by language"),
        "lang_legend": charts.legend(languages), "survey": survey,
    })


@routes.get("/stats.csv")
@declare(Action.VIEW_STATS)
async def stats_csv(request: web.Request) -> web.StreamResponse:
    report = await _report(request)
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(report))
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="baken-tickets.csv"'})


@routes.get("/canned")
@declare(Action.EDIT_CANNED)
async def canned_page(request: web.Request) -> web.StreamResponse:
    return render(request, "canned.html", {"replies": await request.app[DESK].canned()})


@routes.post("/canned")
@declare(Action.EDIT_CANNED)
async def canned_save(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw_id = str(form.get("id", ""))
    locale = str(form.get("locale", ""))
    if locale not in LOCALES:
        raise LifecycleError("choose a language")
    if raw_id and row_id(raw_id) is None:
        raise LifecycleError("no such reply")
    await request.app[DESK].save_canned(me_of(request), row_id(raw_id), locale,
                                        str(form.get("title", "")), str(form.get("body", "")))
    raise web.HTTPSeeOther("/dashboard/canned")


@routes.post("/canned/{reply}/delete")
@declare(Action.EDIT_CANNED)
async def canned_delete(request: web.Request) -> web.StreamResponse:
    reply_id = row_id(request.match_info["reply"])
    if reply_id is None:
        raise web.HTTPNotFound()
    await request.app[DESK].delete_canned(me_of(request), reply_id)
    raise web.HTTPSeeOther("/dashboard/canned")
