"""The counsellors' dashboard on a hostname of its own (ASVS 3.5.4).

The public web chat takes text from anyone and is embedded by other sites; the dashboard holds every
request. On separate hostnames they are separate origins: a flaw in the public side cannot read the
dashboard's pages, its `__Host-` cookies stay with its own host, and a browser's same-origin rules hold
between them. With `BAKEN_DASHBOARD_HOST` set, `/dashboard/` answers 404 for every other Host, and the
dashboard's host serves nothing but the dashboard. Unset (`make run`), everything shares one host.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def normalise_host(value: str) -> str:
    """A bare host name as the setting must give it: lower case, no trailing dot, no scheme, port or path."""
    name = value.strip().lower().rstrip(".")
    if not _NAME.match(name):
        raise ValueError(f"BAKEN_DASHBOARD_HOST must be a host name only, such as dashboard.baken.example "
                         f"(no scheme, port or path): {value!r}")
    return name


def requested_host(request: web.Request) -> str:
    """The name the client asked for (the Host header without its port), in the setting's form."""
    host = request.headers.get("Host", "").strip().lower()
    if host.startswith("["):  # an IPv6 literal: never a dashboard host name
        return host
    return host.rsplit(":", 1)[0].rstrip(".")


def dashboard_host_only(dashboard_host: str, prefix: str) -> Middleware:
    """Middleware: the dashboard (the sub-app at `prefix`) only on its host, and only the dashboard there
    (`/` leads to it)."""

    @web.middleware
    async def separate(request: web.Request, handler: Handler) -> web.StreamResponse:
        on_host = requested_host(request) == dashboard_host
        on_dashboard = request.path == prefix or request.path.startswith(prefix + "/")
        if on_dashboard != on_host:
            if on_host and request.path == "/":
                raise web.HTTPMovedPermanently(prefix + "/")
            raise web.HTTPNotFound()  # the same answer as an unknown page: nothing says a dashboard exists
        return await handler(request)

    return separate
