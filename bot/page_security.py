"""Security headers on every response: a strict Content-Security-Policy without 'unsafe-inline'.

A handler that needs more (the chat page: its script, its socket, the sites that embed it) sets its own
policy; every other page gets this one, which allows styles and images from Baken itself and nothing else.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

DEFAULT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _add(response)
        raise
    _add(response)
    return response


def _add(response: web.StreamResponse) -> None:
    if response.prepared:  # a WebSocket: its headers went out with the upgrade
        return
    headers = response.headers
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
