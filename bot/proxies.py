"""Behind a reverse proxy: the client's address and scheme as the proxy saw them, from trusted proxies only.

Without this every request behind nginx comes from 127.0.0.1: the per-address limits (web chat sockets,
device codes, dashboard sign-ins) would then count all people together, and one person's five wrong
passwords would lock every counsellor out. Only a direct peer listed in BAKEN_TRUSTED_PROXIES is believed;
anyone else's X-Forwarded-For is ignored, so a client cannot pick the address its limits count against.
The address is used in memory for those limits only: it is never stored and never logged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8, ::1' → networks; a bad entry is an error at start, not a silent hole."""
    out = []
    for part in value.split(","):
        part = part.strip()
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"BAKEN_TRUSTED_PROXIES: {part!r} is not an address or network") from exc
    return tuple(out)


def _within(address: str | None, networks: Iterable[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    """The nearest address in the X-Forwarded-For chain that is not one of our proxies."""
    if not trusted or not _within(peer, trusted) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back on the proxy itself, never on the text
    return hops[0] if hops else peer


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def trusted_proxies(trusted: tuple[Network, ...]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote
        if not trusted or not _within(peer, trusted):
            return await handler(request)
        remote = client_address(peer, request.headers.get("X-Forwarded-For"), trusted)
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        changes: dict[str, str] = {}
        if remote and remote != peer:
            changes["remote"] = remote
        if proto in ("http", "https") and proto != request.scheme:
            changes["scheme"] = proto
        return await handler(request.clone(**changes) if changes else request)  # type: ignore[arg-type]

    return middleware
