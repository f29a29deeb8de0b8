"""Baken's one aiohttp server: health now; the web chat, dashboard and Telegram webhook mount here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from sqlalchemy import text

from bot.app import Services, build_services
from bot.channels.telegram import CHANNEL as TELEGRAM_CHANNEL
from bot.channels.telegram import TelegramChannel, TelegramTuning
from bot.channels.telegram_webhook import PREFIX, TELEGRAM, webhook_app, webhook_secret
from bot.dashboard import PREFIX as DASHBOARD
from bot.dashboard import dashboard_app
from bot.desk import DeskService
from bot.dispatch import COUNSELLOR_NOTICES
from bot.housekeeping import purging
from bot.pages import add_pages
from bot.relay import RelayPump, pumping
from bot.settings import Settings
from flows.messages import Outbound
from handover.queue_rules import parse_targets

log = logging.getLogger("baken.server")
SERVICES = web.AppKey("services", Services)


async def health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.json_response({"status": "ok", "service": "baken"})


async def index(request: web.Request) -> web.Response:
    return web.Response(
        text="<!doctype html><html lang=en><meta charset=utf-8><title>Baken</title>"
        "<h1>Baken</h1><p>The service is running. <a href=/privacy>What Baken keeps</a> · "
        "<a href=/content-status>content status</a> · <a href=/healthz>health</a></p></html>",
        content_type="text/html",
    )


def dashboard_dev_mode(settings: Settings) -> bool:
    """Plain HTTP only where nobody else can listen: 127.0.0.1 or localhost."""
    if settings.dashboard_dev and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.error("BAKEN_DASHBOARD_DEV is ignored: the server listens on %s, not on this computer only", settings.host)
        return False
    return settings.dashboard_dev


def make_app(settings: Settings, *, telegram: TelegramTuning | None = None) -> web.Application:
    app = web.Application()
    wakers: list[Callable[[], None]] = []  # relay pumps of this process, woken when the dashboard writes

    def wake_pumps() -> None:
        for wake in wakers:
            wake()

    def make_desk() -> DeskService:
        services = app[SERVICES]
        return DeskService(services.store, services.keyring, targets=parse_targets(settings.wait_targets),
                           on_relay=wake_pumps)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = await build_services(settings)
        app[SERVICES] = services
        if not settings.telegram_token:
            log.info("Telegram is off: BAKEN_TELEGRAM_TOKEN is not set")
        async with purging(services.store):
            yield
        await services.close()

    async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
        """The bot lives as long as the server: getMe, commands and webhook (or polling) at start."""
        assert settings.telegram_token
        channel = TelegramChannel(
            app[SERVICES].dispatcher, settings.telegram_token, api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url, webhook_secret=webhook_secret(settings), tuning=telegram,
        )
        await channel.start()
        app[TELEGRAM] = channel
        services = app[SERVICES]
        # counsellors' messages written by any process reach Telegram through this pump
        pump = RelayPump(services.store, services.keyring, TELEGRAM_CHANNEL, channel.send_relayed)
        wakers.append(pump.wake)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(pumping(pump))
            group = settings.telegram_counsellor_chat_id
            if group is not None:
                async def notify(_sid: str, _address: str | None, replies: list[Outbound]) -> list[int]:
                    for reply in replies:
                        await channel.send_notice(group, reply.text)
                    return []

                notices = RelayPump(services.store, services.keyring, COUNSELLOR_NOTICES, notify, every=2.0)
                await stack.enter_async_context(pumping(notices))
            try:
                yield
            finally:
                await channel.stop()

    app.cleanup_ctx.append(services_ctx)
    app.add_subapp(DASHBOARD, dashboard_app(make_desk, dev=dashboard_dev_mode(settings)))
    if settings.telegram_token:
        app.cleanup_ctx.append(telegram_ctx)
        if settings.telegram_webhook_url:
            app.add_subapp(PREFIX, webhook_app())
    app.router.add_get("/", index)
    app.router.add_get("/healthz", health)
    add_pages(app, stale_months=settings.contact_stale_months)
    return app


def serve(settings: Settings) -> None:
    # the access log never names the client: no address, no user agent, no referrer
    web.run_app(make_app(settings), host=settings.host, port=settings.port, print=None,
                access_log_format='"%r" %s %b %Tfs')
