"""Wires settings, storage, content and the dispatcher together: one place, built once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crypto import Keyring
from bot.dispatch import Dispatcher
from bot.server_key import fingerprint, tighten
from bot.settings import Settings
from bot.storage.database import is_sqlite, make_engine, make_sessionmaker
from bot.storage.key_record import check_key
from bot.storage.migrate import upgrade
from bot.storage.store import Store
from flows.engine import Engine, default_engine
from handover.hours import OpeningHours

log = logging.getLogger("baken.app")


def _where(url: str) -> str:
    """The database named without a password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Services:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    engine: Engine
    dispatcher: Dispatcher
    store: Store

    async def close(self) -> None:
        await self.store.close()
        await self.db.dispose()


async def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Apply migrations, then open the database and load the content."""
    secret = settings.secret  # first: a missing or weak key stops the start before a database is made
    for warning in settings.key_warnings():
        log.warning(warning)
    if migrate:
        await asyncio.to_thread(upgrade, settings.db_url)
    if is_sqlite(settings.db_url):
        tighten(settings.data_dir)
    db = make_engine(settings.db_url)
    try:
        await check_key(db, fingerprint(secret), _where(settings.db_url))
    except BaseException:
        await db.dispose()
        raise
    sessions = make_sessionmaker(db)
    keyring = Keyring(secret)
    engine = default_engine()
    hours = OpeningHours.parse(settings.counsellor_hours, settings.timezone)
    store = Store(settings.db_url, db)
    dispatcher = Dispatcher(engine, store, keyring, hours,
                            notify_counsellors=settings.telegram_counsellor_chat_id is not None)
    return Services(settings, db, sessions, keyring, engine, dispatcher, store)
