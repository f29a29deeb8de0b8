"""Wires settings, storage, content and the dispatcher together: one place, built once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crypto import Keyring
from bot.dispatch import Dispatcher
from bot.schema import prepare_schema
from bot.server_key import KeyProblem, fingerprint, finish_rotation, key_finder, tighten
from bot.settings import Settings
from bot.storage.adoption import adopt
from bot.storage.data_keys import load_keyring
from bot.storage.database import is_sqlite, make_engine, make_sessionmaker
from bot.storage.key_record import check_key, recorded_key
from bot.storage.store import Store
from flows.engine import Engine, default_engine
from handover.hours import OpeningHours

log = logging.getLogger("baken.app")


def _where(url: str) -> str:
    """The database named without a password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Storage:
    """The database and the server's keys: all an administrator's command needs."""

    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    store: Store

    async def close(self) -> None:
        await self.store.close()
        await self.db.dispose()


@dataclass
class Services(Storage):
    """Storage, the content and the dispatcher: what a channel serves people with."""

    engine: Engine
    dispatcher: Dispatcher


async def _checked_secret(db: AsyncEngine, settings: Settings, secret: bytes) -> bytes:
    """The key, proven to be the database's own; finishes a rotation that stopped before its key file moved."""
    try:
        await check_key(db, fingerprint(secret), _where(settings.db_url))
        return secret
    except KeyProblem:
        if settings.secret_key is not None:
            raise
        wanted, version = await recorded_key(db)
        finished = finish_rotation(settings.key_file, wanted, version - 1)
        if finished is None:
            raise
        log.warning("finished an interrupted key rotation: the new key is now in the key file")
        return finished


async def open_keyring(store: Store, secret: bytes, settings: Settings) -> Keyring:
    """The server's keys from the database; then, once, re-seal what older versions wrote (adoption)."""
    find = key_finder(settings.key_file if settings.secret_key is None else None)
    keyring = await store.run(lambda s: load_keyring(s, secret, find))
    counts = await store.run(lambda s: adopt(s, keyring))
    if counts:
        log.info("re-sealed rows written before conversation keys: %s",
                 ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    keyring.drop_legacy()
    return keyring


async def open_storage(settings: Settings, *, migrate: bool = True) -> Storage:
    """Apply migrations, then open the database and its keys; the content is not loaded (an administrator's
    command starts in a second instead of three)."""
    secret = settings.secret  # first: a missing or weak key stops the start before a database is made
    for warning in settings.key_warnings():
        log.warning(warning)
    if migrate:
        await prepare_schema(settings)
    if is_sqlite(settings.db_url):
        tighten(settings.data_dir)
    db = make_engine(settings.db_url)
    try:
        secret = await _checked_secret(db, settings, secret)
    except BaseException:
        await db.dispose()
        raise
    sessions = make_sessionmaker(db)
    store = Store(settings.db_url, db)
    try:
        keyring = await open_keyring(store, secret, settings)
    except BaseException:
        await store.close()
        await db.dispose()
        raise
    return Storage(settings, db, sessions, keyring, store)


async def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Apply migrations, open the database and load the content."""
    storage = await open_storage(settings, migrate=migrate)
    try:
        engine = default_engine()
    except BaseException:
        await storage.close()
        raise
    hours = OpeningHours.parse(settings.counsellor_hours, settings.timezone)
    dispatcher = Dispatcher(engine, storage.store, storage.keyring, hours,
                            notify_counsellors=settings.telegram_counsellor_chat_id is not None)
    return Services(storage.settings, storage.db, storage.sessions, storage.keyring, storage.store, engine,
                    dispatcher)
