"""Wires settings, storage, content and the dispatcher together: one place, built once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crypto import Keyring
from bot.dispatch import Dispatcher
from bot.settings import Settings
from bot.storage.database import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.store import Store
from flows.engine import Engine, default_engine
from handover.hours import OpeningHours


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
    if migrate:
        await asyncio.to_thread(upgrade, settings.db_url)
    db = make_engine(settings.db_url)
    sessions = make_sessionmaker(db)
    keyring = Keyring(settings.secret)
    engine = default_engine()
    hours = OpeningHours.parse(settings.counsellor_hours, settings.timezone)
    store = Store(settings.db_url, db)
    dispatcher = Dispatcher(engine, store, keyring, hours,
                            notify_counsellors=settings.telegram_counsellor_chat_id is not None)
    return Services(settings, db, sessions, keyring, engine, dispatcher, store)
