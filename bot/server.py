"""Baken's one aiohttp server: the web chat at `/`, public pages, health; the dashboard and Telegram webhook."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.web_runner import GracefulExit
from sqlalchemy import text

from bot.app import Services, build_services
from bot.channels.telegram.channel import CHANNEL as TELEGRAM_CHANNEL
from bot.channels.telegram.channel import TelegramChannel, TelegramTuning
from bot.channels.telegram.webhook import PREFIX, TELEGRAM, webhook_app, webhook_secret
from bot.channels.webchat import WEBCHAT, WebChat, WebchatLimits, add_webchat
from bot.dashboard import PREFIX as DASHBOARD
from bot.dashboard import dashboard_app
from bot.desk import DeskService
from bot.dispatch import COUNSELLOR_NOTICES
from bot.housekeeping import purging
from bot.pages import add_pages
from bot.relay import RelayPump, pumping
from bot.security_headers import add_security_headers
from bot.settings import Settings
from bot.slow_headers import HeaderDeadline
from flows.messages import Outbound
from handover.queue_rules import parse_targets

log = logging.getLogger("baken.server")
SERVICES = web.AppKey("services", Services)
HEADER_DEADLINE = web.AppKey("header_deadline", HeaderDeadline)


async def health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return web.json_response({"status": "ok", "service": "baken"})


def dashboard_dev_mode(settings: Settings) -> bool:
    """Plain HTTP only where nobody else can listen: 127.0.0.1 or localhost."""
    if settings.dashboard_dev and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.error("BAKEN_DASHBOARD_DEV is ignored: the server listens on %s, not on this computer only", settings.host)
        return False
    return settings.dashboard_dev


def make_app(
    settings: Settings, *, telegram: TelegramTuning | None = None, webchat: WebchatLimits | None = None,
) -> web.Application:
    app = web.Application()
    deadline = app[HEADER_DEADLINE] = HeaderDeadline(settings.header_timeout_seconds)
    app.middlewares.append(deadline.middleware)
    add_security_headers(app)
    wakers: list[Callable[[], None]] = []  # relay pumps of this process, woken when the dashboard writes

    def wake_pumps() -> None:
        for wake in wakers:
            wake()
        if WEBCHAT in app:  # the web chat delivers its sessions' outbox rows itself: tell it to look now
            app[WEBCHAT].poke()

    def make_desk() -> DeskService:
        services = app[SERVICES]
        return DeskService(services.store, services.keyring, targets=parse_targets(settings.wait_targets),
                           on_relay=wake_pumps)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = await build_services(settings)
        app[SERVICES] = services
        # the content, catalogs and machines loaded at start live as long as the process: kept out of the
        # collector's sweeps, which otherwise walk them all (~100 ms a full collection, a reply-time spike)
        gc.collect()
        gc.freeze()
        if not settings.telegram_token:
            log.info("Telegram is off: BAKEN_TELEGRAM_TOKEN is not set")
        policy, warnings = settings.retention()
        for warning in warnings:
            log.warning(warning)
        async with purging(services.store, policy=policy):
            yield
        await services.close()

    async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
        """The bot lives as long as the server: getMe, commands and webhook (or polling) at start."""
        assert settings.telegram_token
        channel = TelegramChannel(
            app[SERVICES].dispatcher, settings.telegram_token, api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url, webhook_secret=webhook_secret(settings),
            tuning=telegram or TelegramTuning(urgent_grace=settings.urgent_grace_seconds),
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
    def make_webchat(app: web.Application) -> WebChat:
        chat = WebChat(app[SERVICES].dispatcher, app[SERVICES].engine, webchat,
                       address_scale=settings.webchat_address_scale)
        chat.urgent_grace = settings.urgent_grace_seconds
        return chat

    add_webchat(
        app,
        make_webchat,
        origins=settings.webchat_origin_list, exit_url=settings.webchat_exit_url,
    )
    app.router.add_get("/healthz", health)
    add_pages(app, stale_months=settings.contact_stale_months)
    return app


#: the access log never names the client: no address, no user agent, no referrer
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


async def start_serving(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, asyncio.Server]:
    """Start the app on host:port with the header deadline around every connection (see bot.slow_headers)."""
    runner = web.AppRunner(app, handle_signals=True, access_log=logging.getLogger("aiohttp.access"),
                           access_log_format=ACCESS_LOG_FORMAT)
    await runner.setup()
    assert runner.server is not None
    deadline = app[HEADER_DEADLINE]
    listening = await asyncio.get_running_loop().create_server(
        deadline.protocols(runner.server), host, port, backlog=1024, reuse_address=True,
    )
    return runner, listening


async def stop_serving(runner: web.AppRunner, listening: asyncio.Server) -> None:
    listening.close()
    await runner.cleanup()


def serve(settings: Settings) -> None:
    """`baken serve`: until SIGTERM or Ctrl-C, then a clean shutdown (as aiohttp's run_app does it)."""
    app = make_app(settings)

    async def main() -> None:
        runner, listening = await start_serving(app, settings.host, settings.port)
        try:
            await asyncio.Event().wait()
        finally:
            await stop_serving(runner, listening)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    task = loop.create_task(main())
    try:
        loop.run_until_complete(task)
    except (GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
