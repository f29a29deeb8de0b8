"""Account administration behind `baken counsellor …`: add, disable, list, reset the password or the second
factor. Every password the administrator hands over is a one-time password (ASVS 6.4.1): random unless typed,
good for ONE_TIME_LIFETIME, and only to choose the counsellor's own at the first sign-in (with TOTP)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.crypto import Keyring
from bot.storage import audit
from bot.storage.accounts import Accounts
from bot.storage.models import Counsellor, utcnow
from bot.storage.store import Store
from content.i18n import LOCALES
from handover.credentials import (
    hash_password,
    hash_recovery_code,
    new_one_time_password,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
)
from handover.password_rules import check_new_password, context_words
from handover.permissions import Role

#: how long a one-time password from `add` or `reset-password` works (ASVS 6.4.1: short-lived)
ONE_TIME_LIFETIME = dt.timedelta(hours=72)


class AccountError(ValueError):
    """A wrong name, role or language: the message is for the administrator."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the new counsellor needs once: the TOTP secret (as a URI for the QR) and the recovery codes."""

    name: str
    secret: str
    uri: str
    recovery_codes: list[str]
    password: str | None = None  # the random one-time password made here; None when the administrator typed it


def one_time_password(name: str, alias: str, typed: str | None, words: str) -> tuple[str, str | None]:
    """(the password to hash, the one to print): the typed one after the new-password rules, else a random one."""
    if typed is None:
        made = new_one_time_password()
        return made, made
    check_new_password(typed, context_words(name, alias, extra=words))
    return typed, None


def parse_languages(raw: str) -> str:
    langs = [x.strip().lower() for x in raw.split(",") if x.strip()]
    bad = [x for x in langs if x not in LOCALES]
    if not langs or bad:
        raise AccountError(f"languages must be among {', '.join(LOCALES)}; got {raw!r}")
    return ",".join(dict.fromkeys(langs))


def _check_name(name: str) -> str:
    name = name.strip()
    if not (1 <= len(name) <= 64) or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise AccountError("a login name has 1 to 64 letters, digits, '.', '_' or '-'")
    return name


async def add_counsellor(store: Store, keys: Keyring, name: str, *, role: str, languages: str,
                         password: str | None = None, alias: str | None = None, ui_locale: str = "en",
                         password_words: str = "", one_time: bool = True) -> Enrolment:
    """A new account. `password` None makes a random one-time password (returned once, in the Enrolment).
    `one_time=False` is for tests and benchmarks only: an account whose counsellor already chose `password`."""
    name = _check_name(name)
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise AccountError("the role is counsellor or supervisor") from exc
    langs = parse_languages(languages)
    shown = (alias or name).strip()[:64]
    first, made = one_time_password(name, shown, password, password_words)
    password_hash = hash_password(first)
    expires = utcnow() + ONE_TIME_LIFETIME if one_time else None
    secret = new_totp_secret()
    codes = new_recovery_codes()
    hashes = [hash_recovery_code(c) for c in codes]  # outside the transaction: 10 Argon2id hashes take a while

    def unit(s: Session) -> None:
        accounts = Accounts(s)
        if accounts.by_name(name) is not None:
            raise AccountError(f"an account {name!r} exists already")
        c = accounts.add(Counsellor(
            name=name, alias=shown, role=role_value.value, languages=langs,
            ui_locale=ui_locale if ui_locale in LOCALES else "en", password_hash=password_hash,
            totp_secret=keys.seal_text(secret, f"totp:{name}"), password_expires_at=expires,
        ), hashes)
        audit.append(s, "admin", "account_added", None,
                     audit.fields(account=f"{name}#{c.id}", role=role_value.value, languages=langs))

    await store.run(unit)
    return Enrolment(name, secret, provisioning_uri(secret, name), codes, made)


async def reset_password(store: Store, name: str, *, password: str | None = None,
                         password_words: str = "") -> str | None:
    """A forgotten password (ASVS 6.4.3): a new one-time password, random unless typed; the second factor stays,
    so signing in with it still needs the counsellor's TOTP (or a recovery code), then their own new password.
    Every session of the account ends. Returns the random password made, or None when it was typed."""
    def unit(s: Session) -> str | None:
        accounts = Accounts(s)
        c = accounts.by_name(name)
        if c is None or c.id is None:
            raise AccountError(f"no account {name!r}")
        first, made = one_time_password(c.name, c.alias, password, password_words)
        accounts.set_password(c.id, hash_password(first), utcnow() + ONE_TIME_LIFETIME)
        accounts.end_sessions(c.id)
        audit.append(s, "admin", "password_reset", None, audit.fields(account=f"{name}#{c.id}"))
        return made

    return await store.run(unit)


async def disable_counsellor(store: Store, name: str) -> None:
    def unit(s: Session) -> None:
        accounts = Accounts(s)
        c = accounts.by_name(name)
        if c is None:
            raise AccountError(f"no account {name!r}")
        accounts.disable(c)
        audit.append(s, "admin", "account_disabled", None, audit.fields(account=f"{name}#{c.id}"))

    await store.run(unit)


async def end_sessions(store: Store, name: str | None) -> None:
    """Sign one account (by name) or, with None, every account out at once; the accounts stay as they are."""
    def unit(s: Session) -> None:
        accounts = Accounts(s)
        if name is None:
            ended = accounts.end_every_session()
            audit.append(s, "admin", "sessions_ended", None, audit.fields(account="all", count=ended))
            return
        c = accounts.by_name(name)
        if c is None or c.id is None:
            raise AccountError(f"no account {name!r}")
        accounts.end_sessions(c.id)
        audit.append(s, "admin", "sessions_ended", None, audit.fields(account=f"{name}#{c.id}"))

    await store.run(unit)


async def reset_second_factor(store: Store, keys: Keyring, name: str) -> Enrolment:
    secret = new_totp_secret()
    codes = new_recovery_codes()
    hashes = [hash_recovery_code(x) for x in codes]

    def unit(s: Session) -> None:
        accounts = Accounts(s)
        c = accounts.by_name(name)
        if c is None:
            raise AccountError(f"no account {name!r}")
        accounts.reset_second_factor(c, keys.seal_text(secret, f"totp:{name}"), hashes)
        audit.append(s, "admin", "second_factor_reset", None, audit.fields(account=f"{name}#{c.id}"))

    await store.run(unit)
    return Enrolment(name, secret, provisioning_uri(secret, name), codes)


async def list_counsellors(store: Store) -> list[Counsellor]:
    return await store.run(lambda s: Accounts(s).all())
