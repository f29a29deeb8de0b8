"""Passwords (Argon2id), the TOTP second factor and one-time recovery codes: the rules of signing in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: OWASP's Argon2id minimum: 19 MiB, two passes, one lane
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
MIN_PASSWORD = 12
MAX_PASSWORD = 256
RECOVERY_CODES = 10
ISSUER = "Baken"
#: a code is valid only in its own 30-second step (ASVS 6.5.5: TOTPs live at most 30 seconds), and each step
#: is used once; clocks are NTP-set on both sides, so no step of drift is allowed for
TOTP_WINDOW = 0
#: a fixed hash to verify against when the account does not exist, so timing does not tell names apart
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


class WeakPassword(ValueError):
    """A password that may not be set; the message says why (for the administrator), `reason` is the
    short code the dashboard translates: 'short', 'long', 'common', 'context', 'same' or 'differ'."""

    def __init__(self, message: str, reason: str = "short") -> None:
        super().__init__(message)
        self.reason = reason


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters", "short")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD} characters", "long")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used other parameters: store this one instead


def verify_password(stored: str | None, password: str) -> PasswordCheck:
    """Verify, and rehash when the parameters changed since the hash was made."""
    if len(password) > MAX_PASSWORD:
        return PasswordCheck(False)
    try:
        HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if stored is None:
        return PasswordCheck(False)
    return PasswordCheck(True, HASHER.hash(password) if HASHER.check_needs_rehash(stored) else None)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def totp_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step a code belongs to when it is valid and newer than the last one used, else None."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    moment = time.time() if now is None else now
    current = int(moment // totp.interval)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Codes like 'k3f9-2hq8-x7tm': 60 random bits each, easy to read aloud and type."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)) for _ in range(n)]


def new_one_time_password() -> str:
    """A first (or reset) password the administrator hands over: 16 symbols of 31, about 80 random bits,
    readable aloud ('k3f9-2hq8-x7tm-p4ra'); it works once, until the counsellor sets their own."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def recovery_digest(code: str) -> str:
    """The code however typed (spaces, capitals) as SHA-256 hex: what Argon2id hashes, and what Baken stored,
    unsalted, before recovery codes were Argon2id hashes (a 'legacy' row)."""
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


def hash_recovery_code(code: str) -> str:
    """About 60 bits is below ASVS's 112 for a plain hash (6.5.2): a salted Argon2id hash, as for passwords."""
    return HASHER.hash(recovery_digest(code))


def wrap_legacy_recovery_hash(stored: str) -> str:
    """A legacy SHA-256 row re-hashed without its code: Argon2id over the same digest, so the code still works."""
    return HASHER.hash(stored) if is_legacy_recovery_hash(stored) else stored


def is_legacy_recovery_hash(stored: str) -> bool:
    return len(stored) == 64 and all(ch in "0123456789abcdef" for ch in stored)


def recovery_code_matches(stored: str, code: str) -> bool:
    """Whether `code` is the one behind a stored hash, Argon2id or (until re-hashed) legacy SHA-256."""
    digest = recovery_digest(code)
    if is_legacy_recovery_hash(stored):
        return hmac.compare_digest(stored, digest)
    try:
        return bool(HASHER.verify(stored, digest))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
