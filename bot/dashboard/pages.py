"""Rendering: every page gets the counsellor's translator, the CSRF token and the development banner."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.dashboard.auth import DEV, ME
from bot.desk import SignedIn
from content.i18n import LOCALES, N_, translator
from flows import questions as q
from handover.lifecycle import OUTCOME_LABELS

LEVEL_LABELS = {"urgent": N_("Urgent"), "serious": N_("Serious"), "concern": N_("Concern"), "info": N_("Information")}
STATUS_LABELS = {"waiting": N_("waiting"), "claimed": N_("claimed"), "transferred": N_("handed on"),
                 "closed": N_("closed"), "withdrawn": N_("withdrawn by the person")}
EXPLANATION_LABELS = {"adolescence": N_("adolescence"), "family_conflict": N_("family conflict"),
                      "mental_health": N_("mental health"), "drugs": N_("drugs"), "other": N_("other")}
ROLE_LABELS = {"counsellor": N_("Counsellor"), "supervisor": N_("Supervisor")}
ERRORS = {
    "denied": N_("You cannot open or change this. It may be held by a colleague, handed on or closed."),
    "conflict": N_("Someone else was quicker: the ticket changed meanwhile. Look at the queue again."),
    "csrf": N_("This form has expired. Reload the page and try again."),
}


_ANSWERS: dict[str, tuple[q.Option, ...]] = {
    "observed": q.OBSERVATIONS, "danger": q.DANGERS, "reason": q.REASONS, "departure": q.DEPARTURES,
}
SCREEN_LABELS = {"danger_words": N_("danger words in what the person wrote")}


@lru_cache(maxsize=1024)
def answer_label(locale: str, answer: str) -> str:
    """'observed:withdrawn' as the counsellor reads it, in their language; an unknown id stays as it is."""
    t = translator(locale)
    kind, _sep, value = answer.partition(":")
    if kind == "screen":
        return t(SCREEN_LABELS.get(value, value))
    label = q.label_of(_ANSWERS.get(kind, ()), value)
    return t(label) if label else answer


@lru_cache(maxsize=256)
def option_label(locale: str, group: str, key: str) -> str:
    options = {"role": q.ROLES, "goal": q.GOALS}.get(group, ())
    label = q.label_of(options, key)
    return translator(locale)(label) if label else key


def ui_locale(request: web.Request) -> str:
    me = request.get(ME)
    if isinstance(me, SignedIn):
        return me.ui_locale
    lang = request.query.get("lang", "")
    return lang if lang in LOCALES else "en"


def minutes(delta: dt.timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d}"
    return f"{hours // 24} d {hours % 24} h"


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    me = request.get(ME)
    base = {
        "_": translator(ui_locale(request)),
        "me": me if isinstance(me, SignedIn) else None,
        "csrf": me.csrf if isinstance(me, SignedIn) else "",
        "dev": request.app[DEV],
        "lang": ui_locale(request),
        "locales": LOCALES,
        "level_labels": LEVEL_LABELS,
        "status_labels": STATUS_LABELS,
        "explanation_labels": EXPLANATION_LABELS,
        "role_labels": ROLE_LABELS,
        "outcome_labels": {k.value: v for k, v in OUTCOME_LABELS.items()},
        "minutes": minutes,
        "answer": lambda a: answer_label(ui_locale(request), a),
        "option": lambda group, key: option_label(ui_locale(request), group, key),
    }
    response = aiohttp_jinja2.render_template(template, request, base | context, status=status)
    return response


def error_page(request: web.Request, status: int, code: str) -> web.Response:
    if "text/event-stream" in request.headers.get("Accept", "") or request.headers.get("X-Requested-With"):
        return web.json_response({"error": code}, status=status)
    message = ERRORS.get(code, code)
    return render(request, "error.html", {"status": status, "message": message}, status=status)
