"""The counsellors' dashboard: an aiohttp sub-app at /dashboard, server-rendered, with its own small script."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.dashboard.account import routes as account_routes
from bot.dashboard.auth import DESK, DEV, declared, guard
from bot.dashboard.live import routes as live_routes
from bot.dashboard.routes import routes as page_routes
from bot.desk import DeskService

PREFIX = "/dashboard"


def dashboard_app(make_desk: Callable[[], DeskService], *, dev: bool) -> web.Application:
    """`make_desk` is called at start-up, once the parent app opened the database."""
    app = web.Application(middlewares=[guard])
    app[DEV] = dev

    async def desk_ctx(app: web.Application) -> AsyncIterator[None]:
        app[DESK] = make_desk()
        yield

    app.cleanup_ctx.append(desk_ctx)
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("bot.dashboard", "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined)
    app.router.add_routes(page_routes)
    app.router.add_routes(live_routes)
    app.router.add_routes(account_routes)
    return app


__all__ = ["PREFIX", "dashboard_app", "declared"]
