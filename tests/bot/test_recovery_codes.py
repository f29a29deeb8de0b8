"""Recovery codes at rest (ASVS 6.5.2): salted Argon2id hashes, and the way from the unsalted SHA-256 hashes
of earlier releases: the migration re-hashes every old row without knowing its code, so each code still works
once; a legacy row found later (an old backup restored) is accepted once and the account's others re-hashed."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import select, text

from bot.app import Services, build_services
from bot.counsellors import add_counsellor
from bot.desk import DeskService
from bot.settings import Settings
from bot.storage.accounts import Accounts
from bot.storage.database import make_engine
from bot.storage.migrate import downgrade
from bot.storage.models import RecoveryCode
from tests.bot.desk_support import fresh_code

BEFORE = "i15once_outbox_update_key"


def _sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def _hashes(services: Services) -> list[str]:
    return await services.store.run(lambda s: [r.code_hash for r in s.execute(select(RecoveryCode)).scalars()])


async def test_old_unsalted_codes_are_rehashed_by_the_migration_and_still_work_once(settings: Settings) -> None:
    """On SQLite and, where BAKEN_TEST_POSTGRES_URL is set, on PostgreSQL."""
    services = await build_services(settings)
    try:
        enrolment = await add_counsellor(services.store, services.keyring, "anna", role="counsellor",
                                         languages="nl", password="correct horse battery staple", one_time=False)
        stored = await _hashes(services)
    finally:
        await services.close()
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored), "new codes: salted Argon2id"
    assert len(set(stored)) == 10

    # the schema of the release before, with its unsalted SHA-256 rows
    await asyncio.to_thread(downgrade, settings.db_url, BEFORE)
    engine = make_engine(settings.db_url)
    try:
        async with engine.begin() as conn:
            for c in enrolment.recovery_codes:
                await conn.execute(text("INSERT INTO recovery_codes (counsellor_id, code_hash) VALUES (1, :h)"),
                                   {"h": _sha(c)})
    finally:
        await engine.dispose()

    services = await build_services(settings)  # migrates to the newest revision first, as `baken serve` does
    desk = DeskService(services.store, services.keyring)
    try:
        rows = await _hashes(services)
        assert len(rows) == 10 and all(h.startswith("$argon2id$") for h in rows), "no unsalted hash is left"
        assert not any(_sha(c) in h for c in enrolment.recovery_codes for h in rows)
        first = await desk.login("anna", "correct horse battery staple", enrolment.recovery_codes[3], "10.0.0.1")
        assert first.token is not None, "a code from before the migration still signs in"
        again = await desk.login("anna", "correct horse battery staple", enrolment.recovery_codes[3], "10.0.0.1")
        assert again.error == "wrong", "once"
        # an old backup restored after the upgrade: a legacy row is accepted once, then the rest are re-hashed
        await services.store.run(lambda s: s.add(RecoveryCode(counsellor_id=1, code_hash=_sha("abcd-efgh-jkmn"))))
        await services.store.run(lambda s: s.add(RecoveryCode(counsellor_id=1, code_hash=_sha("pqrs-tuvw-xyz2"))))
        legacy = await desk.login("anna", "correct horse battery staple", "ABCD-EFGH-JKMN", "10.0.0.1")
        assert legacy.token is not None
        left = await services.store.run(lambda s: Accounts(s).rehash_legacy_codes())
        assert left == 0, "the sign-in re-hashed the account's other legacy code"
        code = fresh_code(enrolment.secret)
        assert (await desk.login("anna", "correct horse battery staple", code, "10.0.0.1")).token is not None
        assert (await desk.login("anna", "correct horse battery staple", "pqrs-tuvw-xyz2", "10.0.0.1")).token
    finally:
        await services.close()
