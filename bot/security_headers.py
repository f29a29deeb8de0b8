"""Headers every Baken response carries, whichever sub-app, static file or error page produced it."""

from __future__ import annotations

from aiohttp import web

#: pages that need more (the web chat, the dashboard) set their own policy; this is the floor for the rest
DEFAULT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: kinds of answer a browser reads as text: each names its charset, so none is guessed (ASVS 4.1.1)
_TEXTUAL = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


def _with_charset(content_type: str) -> str:
    """Static files (served by aiohttp from their extension) come without a charset; Baken's are all UTF-8."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith(_TEXTUAL) and "charset=" not in content_type.lower():
        return f"{content_type}; charset=utf-8"
    return content_type


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    if "Content-Type" in headers:
        headers["Content-Type"] = _with_charset(headers["Content-Type"])
    headers["Server"] = "Baken"  # never the aiohttp or Python version
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")


def add_security_headers(app: web.Application) -> None:
    app.on_response_prepare.append(_secure)
