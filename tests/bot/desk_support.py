"""Shared set-up for counsellor-side tests: accounts with a known TOTP secret, and consented tickets."""

from __future__ import annotations

import pyotp
from sqlalchemy.orm import Session

from bot.app import Services
from bot.counsellors import Enrolment, add_counsellor
from bot.desk import SignedIn
from bot.storage.repository import NewTicket, Repository
from bot.storage.sealed import seal_session
from handover.consent import CONSENT_VERSION
from handover.permissions import Role

PASSWORD = "correct horse battery staple"


async def make_account(services: Services, name: str, role: str = "counsellor", languages: str = "nl,fr",
                       ) -> Enrolment:
    return await add_counsellor(services.store, services.keyring, name, role=role, languages=languages,
                                password=PASSWORD, alias=name.capitalize(), one_time=False)


def now_code(enrolment: Enrolment) -> str:
    return pyotp.TOTP(enrolment.secret).now()


async def account(services: Services, name: str, role: str = "counsellor", languages: str = "nl,fr",
                  ) -> tuple[SignedIn, Enrolment]:
    """An account, its enrolment, and the SignedIn the dashboard would build for it (no HTTP)."""
    enrolment = await make_account(services, name, role, languages)
    from bot.storage.accounts import Accounts

    c = await services.store.run(lambda s: Accounts(s).by_name(name))
    assert c is not None and c.id is not None
    return SignedIn(c.id, c.name, c.alias, Role(c.role), frozenset(c.languages.split(",")), "en", "csrf"), enrolment


async def signed_in(services: Services, name: str, role: str = "counsellor", languages: str = "nl,fr") -> SignedIn:
    return (await account(services, name, role, languages))[0]


async def consented_ticket(services: Services, user: str, *, locale: str = "nl", level: str = "concern",
                           priority: int = 1, channel: str = "console", summary: str = "Role: parent") -> int:
    """A session that consented and its waiting ticket, stored as the dispatcher stores them."""
    keys = services.keyring
    sid = keys.pseudonym(channel, user)

    def unit(s: Session) -> int:
        repo = Repository(s)
        data = {"locale": locale, "ticket_open": True}
        repo.save_session(sid, channel=channel, data=seal_session(keys.conversation(s, sid), sid, "waiting", data),
                          address=None, new=True)
        repo.record_consent(sid, CONSENT_VERSION, locale, shares_story=False)
        ticket = repo.open_ticket(sid, NewTicket(
            level=level, priority=priority, reasons=("observed:withdrawal",), locale=locale, role="parent",
            region="flanders", goal="advice", summary=summary, story=None), keys)
        assert ticket.id is not None
        return ticket.id

    return await services.store.run(unit)
