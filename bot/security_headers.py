"""Headers every Baken response carries, whichever sub-app, static file or error page produced it."""

from __future__ import annotations

from aiohttp import web

#: pages that need more (the web chat, the dashboard) set their own policy; this is the floor for the rest
DEFAULT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = "Baken"  # never the aiohttp or Python version
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")


def add_security_headers(app: web.Application) -> None:
    app.on_response_prepare.append(_secure)
