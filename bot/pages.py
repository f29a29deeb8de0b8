"""Public pages: what Baken is and keeps (the trust page), and the content status for editors."""

from __future__ import annotations

import datetime as dt
import html
import re

from aiohttp import web

from content.coverage import coverage
from content.directory import Directory
from content.i18n import DEFAULT_LOCALE, LOCALES, normalise_locale
from content.library import default_library

_BOLD = re.compile(r"\*\*(.+?)\*\*")
STALE_MONTHS = web.AppKey("stale_months", int)


def _markdown(body: str) -> str:
    """The articles' small Markdown (paragraphs, '- ' lists, **bold**) as HTML, escaped first."""
    out: list[str] = []
    items: list[str] = []
    for block in body.split("\n"):
        line = _BOLD.sub(r"<strong>\1</strong>", html.escape(block.strip()))
        if line.startswith("- "):
            items.append(f"<li>{line[2:]}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line:
            out.append(f"<p>{line}</p>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "\n".join(out)


def _page(lang: str, title: str, body: str) -> web.Response:
    nav = " · ".join(f'<a href="?lang={code}" hreflang="{code}">{code.upper()}</a>' for code in LOCALES)
    return web.Response(
        text=f"<!doctype html><html lang={lang}><meta charset=utf-8>"
        f'<meta name=viewport content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        '<link rel="stylesheet" href="/chat/static/pages.css">'
        f"<nav>{nav}</nav><h1>{html.escape(title)}</h1>{body}</html>",
        content_type="text/html",
    )


def page_language(request: web.Request) -> str:
    """`?lang=` when given, else the browser's Accept-Language, else the default."""
    asked = normalise_locale(request.query.get("lang"))
    if asked:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        found = normalise_locale(part.split(";")[0].strip())
        if found:
            return found
    return DEFAULT_LOCALE


async def privacy(request: web.Request) -> web.Response:
    """The trust questions answered in advance (design §9): the 'trust' article, per language."""
    lang = page_language(request)
    article = default_library().by_topic("trust", lang)
    if article is None:
        raise web.HTTPNotFound()
    return _page(lang, article.title, _markdown(article.body))


async def content_status(request: web.Request) -> web.Response:
    """For editors: contacts not reviewed lately, contacts no one confirmed with the service, coverage."""
    months = request.app.get(STALE_MONTHS, 12)
    today = dt.date.today()
    directory = Directory.load()
    stale = directory.stale(months=months, today=today)
    rows = "".join(
        f"<tr><td>{html.escape(c.id)}</td><td>{html.escape(c.name_for('en'))}</td><td>{c.reviewed}</td></tr>"
        for c in stale
    )
    stale_html = (
        f"<p><strong>{len(stale)} contact(s) not reviewed against their sources for more than {months} months: "
        "shown to people with a warning until reviewed.</strong></p><table><tr><th>id</th><th>service</th>"
        f"<th>reviewed</th></tr>{rows}</table>"
        if stale else f"<p>All {len(directory)} contacts were reviewed against their sources in the last {months} "
        "months.</p>"
    )
    unconfirmed = directory.unconfirmed()
    confirm_rows = "".join(
        f"<tr><td>{html.escape(c.id)}</td><td>{html.escape(c.name_for('en'))}</td><td>{c.reviewed}</td>"
        f"<td>{html.escape(c.confidence)}</td><td>{'yes' if c.seen_only_before_2020 else ''}</td></tr>"
        for c in unconfirmed
    )
    confirm_html = (
        f"<p><strong>{len(unconfirmed)} of {len(directory)} contact(s) not yet confirmed with the service itself"
        "</strong> (reviewed only against published sources; <code>confirmed</code> is empty).</p>"
        "<table><tr><th>id</th><th>service</th><th>reviewed</th><th>confidence</th><th>seen only before 2020</th>"
        f"</tr>{confirm_rows}</table>"
        if unconfirmed else f"<p>All {len(directory)} contacts were confirmed with the services.</p>"
    )
    library = default_library()
    counts = "".join(f"<li>{lang}: {len(library.in_language(lang))} articles</li>" for lang in LOCALES)
    cov = "".join(
        f"<li>{lang}: {done}/{total} interface strings translated</li>" for lang, (done, total, _) in coverage().items()
    )
    return _page("en", "Baken content status", f"<h2>Contacts</h2>{stale_html}{confirm_html}<h2>Articles</h2>"
                 f"<ul>{counts}</ul><h2>Translations</h2><ul>{cov}</ul>")


def add_pages(app: web.Application, *, stale_months: int) -> None:
    app[STALE_MONTHS] = stale_months
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/content-status", content_status)
