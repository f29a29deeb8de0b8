"""Account administration behind `baken counsellor …`: add, disable, list, reset the second factor."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.crypto import Keyring
from bot.storage import audit
from bot.storage.accounts import Accounts
from bot.storage.models import Counsellor
from bot.storage.store import Store
from content.i18n import LOCALES
from handover.credentials import (
    hash_password,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
    recovery_hash,
)
from handover.permissions import Role


class AccountError(ValueError):
    """A wrong name, role or language: the message is for the administrator."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the new counsellor needs once: the TOTP secret (as a URI for the QR) and the recovery codes."""

    name: str
    secret: str
    uri: str
    recovery_codes: list[str]


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


async def add_counsellor(store: Store, keys: Keyring, name: str, *, role: str, languages: str, password: str,
                         alias: str | None = None, ui_locale: str = "en") -> Enrolment:
    name = _check_name(name)
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise AccountError("the role is counsellor or supervisor") from exc
    langs = parse_languages(languages)
    password_hash = hash_password(password)
    secret = new_totp_secret()
    codes = new_recovery_codes()

    def unit(s: Session) -> None:
        accounts = Accounts(s)
        if accounts.by_name(name) is not None:
            raise AccountError(f"an account {name!r} exists already")
        c = accounts.add(Counsellor(
            name=name, alias=(alias or name).strip()[:64], role=role_value.value, languages=langs,
            ui_locale=ui_locale if ui_locale in LOCALES else "en", password_hash=password_hash,
            totp_secret=keys.seal_text(secret, f"totp:{name}"),
        ), [recovery_hash(c) for c in codes])
        audit.append(s, "admin", "account_added", None,
                     audit.fields(account=f"{name}#{c.id}", role=role_value.value, languages=langs))

    await store.run(unit)
    return Enrolment(name, secret, provisioning_uri(secret, name), codes)


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

    def unit(s: Session) -> None:
        accounts = Accounts(s)
        c = accounts.by_name(name)
        if c is None:
            raise AccountError(f"no account {name!r}")
        accounts.reset_second_factor(c, keys.seal_text(secret, f"totp:{name}"), [recovery_hash(x) for x in codes])
        audit.append(s, "admin", "second_factor_reset", None, audit.fields(account=f"{name}#{c.id}"))

    await store.run(unit)
    return Enrolment(name, secret, provisioning_uri(secret, name), codes)


async def list_counsellors(store: Store) -> list[Counsellor]:
    return await store.run(lambda s: Accounts(s).all())
