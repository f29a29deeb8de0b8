"""Baken's one aiohttp server: the web chat at `/`, public pages, health; the dashboard and Telegram webhook."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from bot import metrics
from bot.app import Services, build_services
from bot.backup_keys import BackupKeys
from bot.channels.telegram.budget import BudgetedRateLimiter
from bot.channels.telegram.channel import CHANNEL as TELEGRAM_CHANNEL
from bot.channels.telegram.channel import TelegramChannel, TelegramTuning, default_rate_limiter
from bot.channels.telegram.webhook import PREFIX, TELEGRAM, webhook_app, webhook_secret
from bot.channels.webchat import WEBCHAT, WebChat, WebchatLimits, add_webchat
from bot.dashboard import PREFIX as DASHBOARD
from bot.dashboard import dashboard_app
from bot.desk import DeskService
from bot.dispatch import COUNSELLOR_NOTICES
from bot.health import Readiness
from bot.hostnames import dashboard_host_only
from bot.housekeeping import pruning_backup_keys, purging
from bot.leader import Leadership, leading
from bot.logs import request_ids
from bot.pages import add_pages
from bot.proxies import parse_networks, trusted_proxies
from bot.relay import RelayPump, paced, pumping
from bot.security_headers import add_security_headers
from bot.settings import Settings
from bot.slow_headers import HeaderDeadline
from bot.storage.database import is_sqlite
from flows.messages import Outbound
from handover.queue_rules import parse_targets

log = logging.getLogger("baken.server")
SERVICES = web.AppKey("services", Services)
READINESS = web.AppKey("readiness", Readiness)
SENDER = web.AppKey("sender", Leadership)
HEADER_DEADLINE = web.AppKey("header_deadline", HeaderDeadline)


async def health(request: web.Request) -> web.Response:
    """Alive: the process answers. No database here (see bot/health.py)."""
    return web.json_response({"status": "ok", "service": "baken"}, headers={"Cache-Control": "no-store"})


async def ready(request: web.Request) -> web.Response:
    reason = await request.app[READINESS].reason()
    if reason is None:
        return web.json_response({"status": "ready"}, headers={"Cache-Control": "no-store"})
    return web.json_response({"status": "not ready", "reason": reason}, status=503,
                             headers={"Cache-Control": "no-store", "Retry-After": "5"})


def metrics_route(token: str | None) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        if not metrics.may_read(request, token):
            # the same answer as an unknown page: a scanner learns nothing
            raise web.HTTPNotFound()
        return await metrics.render(request.app[SERVICES].store)

    return handler


def dashboard_dev_mode(settings: Settings) -> bool:
    """Plain HTTP only where nobody else can listen: 127.0.0.1 or localhost."""
    if settings.dashboard_dev and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.error("BAKEN_DASHBOARD_DEV is ignored: the server listens on %s, not on this computer only", settings.host)
        return False
    return settings.dashboard_dev


def make_app(
    settings: Settings, *, telegram: TelegramTuning | None = None, webchat: WebchatLimits | None = None,
) -> web.Application:
    proxies = parse_networks(settings.trusted_proxies)
    deadline = HeaderDeadline(settings.header_timeout_seconds)
    hosts = [dashboard_host_only(settings.dashboard_host, DASHBOARD)] if settings.dashboard_host else []
    app = web.Application(middlewares=[deadline.middleware, *hosts,
                                       *([trusted_proxies(proxies)] if proxies else []), request_ids])
    app[HEADER_DEADLINE] = deadline
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
                           on_relay=wake_pumps, password_words=settings.password_words)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = await build_services(settings)
        app[SERVICES] = services
        app[READINESS] = Readiness(services.db)
        # the content, catalogs and machines loaded at start live as long as the process: kept out of the
        # collector's sweeps, which otherwise walk them all (~100 ms a full collection, a reply-time spike)
        gc.collect()
        gc.freeze()
        if not settings.telegram_token:
            log.info("Telegram is off: BAKEN_TELEGRAM_TOKEN is not set")
        policy, warnings = settings.retention()
        for warning in warnings:
            log.warning(warning)
        if not is_sqlite(settings.db_url):  # hear the other processes' events (bot/events.py)
            services.store.events.start_listening(settings.db_url)
        try:
            async with purging(services.store, policy=policy), \
                    pruning_backup_keys(BackupKeys(settings.backup_keys_folder, settings.backup_key_days)):
                yield
        finally:
            await services.store.events.stop_listening()
        await app[READINESS].close()
        await services.close()

    async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
        """The bot lives as long as the server: getMe, commands and webhook (or polling) at start."""
        assert settings.telegram_token
        tuning = telegram or TelegramTuning(urgent_grace=settings.urgent_grace_seconds)
        tuning.http = settings.telegram_http
        tuning.webhook_reply = settings.telegram_webhook_reply
        if isinstance(tuning.rate_limiter, BudgetedRateLimiter):
            if settings.telegram_send_limit:
                tuning.rate_limiter.budget.limit = settings.telegram_send_limit
            else:
                tuning.rate_limiter = default_rate_limiter(budget=False)
        if tuning.numbers_sent_path is None:
            tuning.numbers_sent_path = settings.data_dir / "numbers-sent"
        channel = TelegramChannel(
            app[SERVICES].dispatcher, settings.telegram_token, api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url, webhook_secret=webhook_secret(settings), tuning=tuning,
        )
        await channel.start()
        app[TELEGRAM] = channel
        services = app[SERVICES]
        # counsellors' messages written by any process reach Telegram through this pump, which runs in one
        # process of the cluster only (bot/leader.py): the bot-wide send limits then hold across processes
        pump = RelayPump(services.store, services.keyring, TELEGRAM_CHANNEL, paced(channel.send_relayed))
        wakers.append(pump.wake)
        group = settings.telegram_counsellor_chat_id

        @contextlib.asynccontextmanager
        async def sender() -> AsyncIterator[None]:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(pumping(pump))
                if group is not None:
                    async def notify(_sid: str, _address: str | None, replies: list[Outbound]) -> list[int]:
                        for reply in replies:
                            await channel.send_notice(group, reply.text)
                        return []

                    notices = RelayPump(services.store, services.keyring, COUNSELLOR_NOTICES, notify, every=2.0)
                    await stack.enter_async_context(pumping(notices))
                yield

        budget = channel.budget
        app[SENDER] = Leadership(settings.db_url, sender,
                                 on_members=budget.set_processes if budget is not None else None)
        async with leading(app[SENDER]):
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
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics_route(settings.metrics_token))
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
