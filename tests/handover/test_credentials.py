"""Signing-in rules: Argon2id with the agreed parameters, rehash on change, TOTP used once, recovery codes."""

from __future__ import annotations

import pyotp
import pytest
from argon2 import PasswordHasher, Type

from handover.credentials import (
    WeakPassword,
    hash_password,
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    recovery_code_matches,
    totp_step,
    verify_password,
)

NOW = 1_790_000_000.0


def test_passwords_are_argon2id_with_19_mib_two_passes_one_lane() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored
    assert verify_password(stored, "correct horse battery staple").ok
    assert not verify_password(stored, "correct horse battery stable").ok
    assert not verify_password(None, "anything at all").ok, "an unknown account never signs in"


def test_a_hash_with_older_parameters_is_replaced_on_sign_in() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash("long enough pass")
    check = verify_password(old, "long enough pass")
    assert check.ok and check.new_hash is not None and "m=19456,t=2,p=1" in check.new_hash
    assert verify_password(check.new_hash, "long enough pass").new_hash is None


def test_short_passwords_are_refused_with_the_reason() -> None:
    with pytest.raises(WeakPassword, match="12 characters"):
        hash_password("short")


def test_a_totp_code_works_in_its_window_and_only_once() -> None:
    secret = new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = totp_step(secret, code, 0, NOW)
    assert step is not None
    assert totp_step(secret, code, step, NOW) is None, "the same code twice: refused"
    end_of_step = (NOW // 30) * 30 + 29.999
    assert totp_step(secret, code, 0, end_of_step) == step, "a code works until its step ends"
    assert totp_step(secret, code, 0, end_of_step + 0.002) is None, "and not a moment longer: 30 seconds at most"
    assert totp_step(secret, pyotp.TOTP(secret).at(NOW + 30), 0, NOW) is None, "nor before its step"
    assert totp_step(secret, pyotp.TOTP(secret).at(NOW - 120), 0, NOW) is None
    assert totp_step(secret, "12345", 0, NOW) is None and totp_step(secret, "abcdef", 0, NOW) is None


def test_recovery_codes_are_random_readable_and_hashed_alike_however_typed() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 14 and c.count("-") == 2 for c in codes)
    stored = hash_recovery_code(codes[0])
    assert recovery_code_matches(stored, " " + codes[0].upper() + " ")
    assert codes[0] not in stored and not recovery_code_matches(stored, codes[1])
