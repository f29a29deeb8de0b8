"""Shared set-up for counsellor-side tests: accounts with a known TOTP secret, and consented tickets."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pyotp
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.orm import Session

from bot.app import Services
from bot.counsellors import Enrolment, add_counsellor
from bot.desk import DeskService, SignedIn
from bot.server import SERVICES
from bot.storage.repository import NewTicket, Repository
from bot.storage.sealed import seal_session
from handover.consent import CONSENT_VERSION
from handover.permissions import Role

PASSWORD = "correct horse battery staple"


async def make_account(services: Services, name: str, role: str = "counsellor", languages: str = "nl,fr",
                       ) -> Enrolment:
    return await add_counsellor(services.store, services.keyring, name, role=role, languages=languages,
                                password=PASSWORD, alias=name.capitalize(), one_time=False)


def fresh_code(secret: str) -> str:
    """The code the app shows now, with at least 3 of its 30 seconds left, as a person would type it: a code
    lives only in its own step (ASVS 6.5.5), so one read at a step's last moment would be refused."""
    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.05)
    return pyotp.TOTP(secret).now()


def now_code(enrolment: Enrolment) -> str:
    return fresh_code(enrolment.secret)


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


@dataclass
class Dashboard:
    client: TestClient[Any, Any]
    app: web.Application

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def desk(self) -> DeskService:
        return DeskService(self.services.store, self.services.keyring)

    async def login(self, name: str, secret: str, *, password: str = PASSWORD, code: str | None = None,
                    client: TestClient[Any, Any] | None = None) -> int:
        c = client or self.client
        page = await c.get("/dashboard/login")
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token is not None
        answer = await c.post("/dashboard/login", allow_redirects=False, data={
            "csrf": token[1], "name": name, "password": password,
            "code": code if code is not None else fresh_code(secret)})
        return answer.status if answer.headers.get("Location") != "/dashboard/?notice=signed_in" else 200

    async def csrf(self, client: TestClient[Any, Any] | None = None) -> str:
        page = await (client or self.client).get("/dashboard/")
        m = re.search(r'data-csrf="([^"]+)"', await page.text())
        assert m is not None, "signed in"
        return m[1]
