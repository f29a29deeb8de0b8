"""Counsellor accounts, their recovery codes, dashboard sessions and failed sign-ins: plain SQL in the
caller's transaction (a unit of work run by `bot.storage.store.Store`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.storage.models import AuditEntry, Counsellor, DashboardSession, LoginFailure, RecoveryCode, utcnow
from handover.credentials import is_legacy_recovery_hash, recovery_code_matches, wrap_legacy_recovery_hash

FAILURE_WINDOW = dt.timedelta(minutes=30)
MAX_FAILURES = 5
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class Accounts:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ accounts
    def add(self, counsellor: Counsellor, recovery_hashes: list[str]) -> Counsellor:
        self.s.add(counsellor)
        self.s.flush()
        assert counsellor.id is not None
        self.s.add_all([RecoveryCode(counsellor_id=counsellor.id, code_hash=h) for h in recovery_hashes])
        return counsellor

    def by_name(self, name: str) -> Counsellor | None:
        return self.s.execute(select(Counsellor).where(col(Counsellor.name) == name)).scalars().first()

    def by_id(self, counsellor_id: int) -> Counsellor | None:
        return self.s.get(Counsellor, counsellor_id)

    def all(self) -> list[Counsellor]:
        return list(self.s.execute(select(Counsellor).order_by(col(Counsellor.name))).scalars())

    def active(self) -> list[Counsellor]:
        stmt = select(Counsellor).where(col(Counsellor.disabled_at).is_(None)).order_by(col(Counsellor.alias))
        return list(self.s.execute(stmt).scalars())

    def disable(self, counsellor: Counsellor) -> None:
        counsellor.disabled_at = utcnow()
        self.s.add(counsellor)
        self.end_sessions(counsellor.id or 0)

    def set_password_hash(self, counsellor_id: int, new_hash: str) -> None:
        self.s.execute(update(Counsellor).where(col(Counsellor.id) == counsellor_id).values(password_hash=new_hash))

    def set_password(self, counsellor_id: int, new_hash: str, expires_at: dt.datetime | None) -> None:
        """A new password: one-time (from the administrator, until `expires_at`) or the counsellor's own (None)."""
        self.s.execute(update(Counsellor).where(col(Counsellor.id) == counsellor_id)
                       .values(password_hash=new_hash, password_expires_at=expires_at))

    def use_totp_step(self, counsellor_id: int, step: int) -> bool:
        """Record the step as used; False if it (or a later one) was used already: no code works twice."""
        result = self.s.execute(
            update(Counsellor)
            .where(col(Counsellor.id) == counsellor_id, col(Counsellor.totp_last_step) < step)
            .values(totp_last_step=step)
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    def reset_second_factor(self, counsellor: Counsellor, sealed_secret: bytes, recovery_hashes: list[str]) -> None:
        counsellor.totp_secret = sealed_secret
        counsellor.totp_last_step = 0
        self.s.add(counsellor)
        self.s.execute(delete(RecoveryCode).where(col(RecoveryCode.counsellor_id) == counsellor.id))
        self.s.add_all([RecoveryCode(counsellor_id=counsellor.id or 0, code_hash=h) for h in recovery_hashes])
        self.end_sessions(counsellor.id or 0)

    def use_recovery_code(self, counsellor_id: int, code: str) -> bool:
        """Mark the unused code that matches as used; False if none does. Salted hashes cannot be looked up, so
        each unused code of the account is verified in turn (at most 10 Argon2id checks, for a lost phone)."""
        unused = self.s.execute(
            select(col(RecoveryCode.id), col(RecoveryCode.code_hash))
            .where(col(RecoveryCode.counsellor_id) == counsellor_id, col(RecoveryCode.used_at).is_(None))
        ).all()
        match = next((row_id for row_id, stored in unused if recovery_code_matches(stored, code)), None)
        if match is None:
            return False
        result = self.s.execute(
            update(RecoveryCode)
            .where(col(RecoveryCode.id) == match, col(RecoveryCode.used_at).is_(None))
            .values(used_at=utcnow())
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    def rehash_legacy_codes(self, counsellor_id: int | None = None) -> int:
        """Unsalted SHA-256 rows (before Argon2id) re-hashed in place: how many. The migration does every row;
        this is the same step for code that finds one later (a restored old backup)."""
        stmt = select(RecoveryCode)
        if counsellor_id is not None:
            stmt = stmt.where(col(RecoveryCode.counsellor_id) == counsellor_id)
        legacy = [r for r in self.s.execute(stmt).scalars() if is_legacy_recovery_hash(r.code_hash)]
        for row in legacy:
            row.code_hash = wrap_legacy_recovery_hash(row.code_hash)
            self.s.add(row)
        return len(legacy)

    # ------------------------------------------------------------------ failed sign-ins
    def failures(self, account: str, address: str, now: dt.datetime) -> tuple[int, int]:
        since = now - FAILURE_WINDOW
        per_account = select(func.count()).select_from(LoginFailure).where(
            col(LoginFailure.account) == account, col(LoginFailure.at) > since)
        per_address = select(func.count()).select_from(LoginFailure).where(
            col(LoginFailure.address) == address, col(LoginFailure.at) > since)
        return int(self.s.execute(per_account).scalar_one()), int(self.s.execute(per_address).scalar_one())

    def add_failure(self, account: str, address: str) -> None:
        self.s.add(LoginFailure(account=account[:64], address=address))

    def purge_failures(self, now: dt.datetime) -> None:
        self.s.execute(delete(LoginFailure).where(col(LoginFailure.at) <= now - FAILURE_WINDOW))

    # ------------------------------------------------------------------ dashboard sessions
    def open_session(self, token_hash: str, counsellor_id: int, csrf: str) -> None:
        self.s.add(DashboardSession(id=token_hash, counsellor_id=counsellor_id, csrf=csrf))

    def session(self, token_hash: str) -> DashboardSession | None:
        return self.s.get(DashboardSession, token_hash)

    def touch_session(self, token_hash: str, now: dt.datetime) -> None:
        self.s.execute(update(DashboardSession).where(col(DashboardSession.id) == token_hash).values(seen_at=now))

    def end_session(self, token_hash: str) -> None:
        self.s.execute(delete(DashboardSession).where(col(DashboardSession.id) == token_hash))

    def end_sessions(self, counsellor_id: int) -> None:
        self.s.execute(delete(DashboardSession).where(col(DashboardSession.counsellor_id) == counsellor_id))

    def previous_sign_in(self, actor: str, name: str) -> tuple[dt.datetime | None, int]:
        """When the account signed in before its latest sign-in (from the audit log), and how many failed
        sign-ins were tried on it since then (failures are kept `FAILURE_WINDOW` only, so at most that far back)."""
        logins = self.s.execute(select(col(AuditEntry.at)).where(col(AuditEntry.actor) == actor,
                                                             col(AuditEntry.action) == "login")
                                .order_by(col(AuditEntry.id).desc()).limit(2)).scalars().all()
        if not logins:
            return None, 0
        before = aware(logins[1]) if len(logins) > 1 else None
        tried = select(func.count()).select_from(LoginFailure).where(col(LoginFailure.account) == name[:64])
        if before is not None:
            tried = tried.where(col(LoginFailure.at) > before)
        return before, int(self.s.execute(tried).scalar_one())

    def sessions_of(self, counsellor_id: int) -> list[DashboardSession]:
        stmt = (select(DashboardSession).where(col(DashboardSession.counsellor_id) == counsellor_id)
                .order_by(col(DashboardSession.created_at)))
        return list(self.s.execute(stmt).scalars())

    def end_other_sessions(self, counsellor_id: int, keep: str) -> int:
        """Every session of the account but `keep` (the one asking) ends: how many did."""
        result = self.s.execute(delete(DashboardSession).where(
            col(DashboardSession.counsellor_id) == counsellor_id, col(DashboardSession.id) != keep))
        return int(getattr(result, "rowcount", 0) or 0)

    def end_every_session(self) -> int:
        """Everyone is signed out (a suspected theft of sessions, a key change): how many sessions ended."""
        result = self.s.execute(delete(DashboardSession))
        return int(getattr(result, "rowcount", 0) or 0)
