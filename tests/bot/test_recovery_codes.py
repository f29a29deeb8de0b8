"""Recovery codes at rest (ASVS 6.5.2): salted Argon2id hashes, and the way from the unsalted SHA-256 hashes
of earlier releases: the migration re-hashes every old row without knowing its code, so each code still works
once; a legacy row found later (an old backup restored) is accepted once and the account's others re-hashed."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pyotp

from bot.app import build_services
from bot.counsellors import add_counsellor
from bot.desk import DeskService
from bot.settings import Settings
from bot.storage.accounts import Accounts
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import RecoveryCode
from tests.server_keys import TEST_KEY

BEFORE = "i15once_outbox_update_key"


def _sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def test_old_unsalted_codes_are_rehashed_by_the_migration_and_still_work_once(tmp_path: Path) -> None:
    db = tmp_path / "b.sqlite3"
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{db}", secret_key=TEST_KEY)
    services = await build_services(settings)
    try:
        enrolment = await add_counsellor(services.store, services.keyring, "anna", role="counsellor",
                                         languages="nl", password="correct horse battery staple", one_time=False)
    finally:
        await services.close()
    stored = [r[0] for r in sqlite3.connect(db).execute("SELECT code_hash FROM recovery_codes")]
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored), "new codes: salted Argon2id"
    assert len(set(stored)) == 10

    # the schema of the release before, with its unsalted SHA-256 rows
    await asyncio.to_thread(downgrade, settings.db_url, BEFORE)
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO recovery_codes (counsellor_id, code_hash) VALUES (1, ?)",
                         [(_sha(c),) for c in enrolment.recovery_codes])
    await asyncio.to_thread(upgrade, settings.db_url)
    rows = [r[0] for r in sqlite3.connect(db).execute("SELECT code_hash FROM recovery_codes")]
    assert len(rows) == 10 and all(h.startswith("$argon2id$") for h in rows), "no unsalted hash is left"
    assert not any(_sha(c) in h for c in enrolment.recovery_codes for h in rows)

    services = await build_services(settings)
    desk = DeskService(services.store, services.keyring)
    try:
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
        code = pyotp.TOTP(enrolment.secret).now()
        assert (await desk.login("anna", "correct horse battery staple", code, "10.0.0.1")).token is not None
        assert (await desk.login("anna", "correct horse battery staple", "pqrs-tuvw-xyz2", "10.0.0.1")).token
    finally:
        await services.close()
