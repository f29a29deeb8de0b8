"""A counsellor's own account in the dashboard, as they would notice it: changing their password (ASVS 6.2.2,
6.2.3), the rules a new one must meet (6.2.4, 6.2.11), choosing their own at the first sign-in after a one-time
password from the administrator (6.4.1), a forgotten password reset that keeps TOTP (6.4.3), and seeing and
ending their own sessions (7.5.2)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from bot.counsellors import ONE_TIME_LIFETIME, add_counsellor, reset_password
from bot.desk import SignedIn
from bot.storage.models import AuditEntry, Counsellor
from handover.credentials import WeakPassword
from tests.bot.desk_support import PASSWORD, Dashboard, account, consented_ticket

NEW = "a quiet river at dawn"




async def _csrf(client: TestClient[Any, Any], path: str = "/dashboard/account") -> str:
    page = await client.get(path)
    m = re.search(r'data-csrf="([^"]+)"', await page.text())
    assert m is not None, "signed in"
    return m[1]


async def _change(client: TestClient[Any, Any], current: str, new: str, again: str | None = None) -> str:
    """Post the form as the browser does; where the dashboard sends the counsellor next."""
    answer = await client.post("/dashboard/account/password", allow_redirects=False, data={
        "csrf": await _csrf(client), "current": current, "new": new, "again": new if again is None else again})
    assert answer.status == 303
    return answer.headers["Location"]


async def _still_in(client: TestClient[Any, Any]) -> bool:
    answer = await client.get("/dashboard/", allow_redirects=False)
    return answer.status == 200


async def _audit(d: Dashboard, action: str) -> list[AuditEntry]:
    return await d.services.store.run(lambda s: list(s.execute(
        select(AuditEntry).where(col(AuditEntry.action) == action)).scalars()))


def _other(d: Dashboard) -> TestClient[Any, Any]:
    return TestClient(d.client.server)  # the same server, a second browser with its own cookies


async def test_a_counsellor_changes_their_password_and_their_other_sessions_end(dashboard: Dashboard) -> None:
    me, enrolment = await account(dashboard.services, "anna")
    laptop = _other(dashboard)
    try:
        assert await dashboard.login("anna", enrolment.secret, client=laptop,
                                     code=enrolment.recovery_codes[0]) == 200
        assert await dashboard.login("anna", enrolment.secret) == 200
        page = await (await dashboard.client.get("/dashboard/account")).text()
        fields = re.findall(r'<input[^>]*name="(current|new|again)"[^>]*>', page)
        assert fields == ["current", "new", "again"], "the current password, then the new one twice"
        assert len(re.findall(r'name="(?:current|new|again)" type="password"', page)) == 3
        assert '<a href="/dashboard/account">' in page, "reachable from every page's menu"

        no_token = await dashboard.client.post("/dashboard/account/password", allow_redirects=False,
                                               data={"current": PASSWORD, "new": NEW, "again": NEW})
        assert no_token.status == 403, "CSRF-protected like every other form"
        assert await _change(dashboard.client, "not my password", NEW) == "/dashboard/account?error=wrong"
        assert await _change(dashboard.client, PASSWORD, NEW, NEW + "!") == "/dashboard/account?error=differ"
        assert await _change(dashboard.client, PASSWORD, PASSWORD) == "/dashboard/account?error=same"
        assert await _change(dashboard.client, PASSWORD, "short one") == "/dashboard/account?error=short"
        assert await _change(dashboard.client, PASSWORD, "qwerty123456") == "/dashboard/account?error=common"
        assert await _change(dashboard.client, PASSWORD, "Anna-likes-long-walks") == \
            "/dashboard/account?error=context"
        assert await _change(dashboard.client, PASSWORD, "my Baken password 2026") == \
            "/dashboard/account?error=context"
        refused = await (await dashboard.client.get("/dashboard/account?error=common")).text()
        assert "one of the most common ones" in refused
        assert await _still_in(laptop), "nothing changed yet"

        assert await _change(dashboard.client, PASSWORD, NEW) == "/dashboard/account?notice=changed"
        assert await _still_in(dashboard.client), "the browser that changed it stays signed in"
        assert not await _still_in(laptop), "every other session ended"
    finally:
        await laptop._session.close()
    assert await dashboard.login("anna", enrolment.secret, password=PASSWORD) == 303, "the old password is gone"
    assert await dashboard.login("anna", enrolment.secret, password=NEW, code=enrolment.recovery_codes[1]) == 200
    [entry] = await _audit(dashboard, "password_changed")
    assert entry.actor == me.label and entry.detail == "first_password=no sessions_ended=1"


async def test_a_wrong_current_password_counts_towards_the_lock(dashboard: Dashboard,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    _, enrolment = await account(dashboard.services, "anna")
    assert await dashboard.login("anna", enrolment.secret) == 200
    with caplog.at_level(logging.INFO, logger="baken.security"):
        for _ in range(5):
            assert await _change(dashboard.client, "a guess at her password", NEW) == \
                "/dashboard/account?error=wrong"
        assert await _change(dashboard.client, PASSWORD, NEW) == "/dashboard/account?error=locked"
    lines = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert lines.count("security password_change_failed reason=wrong") == 5
    assert "security password_change_failed reason=locked" in lines
    assert not any("anna" in line or "guess" in line for line in lines), "no name or typed text in the log"


async def test_why_a_new_password_is_refused_is_said_in_the_counsellors_language(dashboard: Dashboard) -> None:
    _, enrolment = await account(dashboard.services, "anna")
    assert await dashboard.login("anna", enrolment.secret) == 200
    csrf = await _csrf(dashboard.client)
    seen = set()
    for lang in ("nl", "fr", "de", "en"):
        await dashboard.client.post("/dashboard/language", data={"csrf": csrf, "lang": lang})
        page = await (await dashboard.client.get("/dashboard/account?error=context")).text()
        m = re.search(r'id="password-error">([^<]+)<', page)
        assert m is not None, lang
        seen.add(m[1])
    assert len(seen) == 4, "four languages, four texts"


async def test_a_new_account_must_choose_its_own_password_before_anything_else(dashboard: Dashboard) -> None:
    enrolment = await add_counsellor(dashboard.services.store, dashboard.services.keyring, "ben",
                                     role="counsellor", languages="nl")
    first = enrolment.password
    assert first is not None and len(first) >= 16, "a random one-time password, printed once"
    ticket = await consented_ticket(dashboard.services, "p1")
    assert await dashboard.login("ben", enrolment.secret, password=first, code="000000") == 303, "TOTP still needed"
    assert await dashboard.login("ben", enrolment.secret, password=first) == 200
    for method, path in (("GET", "/dashboard/"), ("GET", f"/dashboard/tickets/{ticket}"),
                         ("POST", "/dashboard/queue/next"), ("GET", "/dashboard/stats")):
        answer = await dashboard.client.request(method, path, allow_redirects=False)
        assert answer.headers.get("Location") == "/dashboard/account", (method, path)
    page = await (await dashboard.client.get("/dashboard/account")).text()
    assert "Choose your own password" in page and 'id="sessions"' not in page
    assert await _change(dashboard.client, first, NEW) == "/dashboard/account?notice=changed"
    assert await _still_in(dashboard.client)
    assert (await dashboard.client.get(f"/dashboard/tickets/{ticket}", allow_redirects=False)).status == 200
    assert await dashboard.login("ben", enrolment.secret, password=first) == 303, "the one-time password is spent"
    [entry] = await _audit(dashboard, "password_changed")
    assert "first_password=yes" in entry.detail


async def test_a_one_time_password_expires_after_72_hours(dashboard: Dashboard) -> None:
    assert dt.timedelta(hours=72) == ONE_TIME_LIFETIME
    enrolment = await add_counsellor(dashboard.services.store, dashboard.services.keyring, "ben",
                                     role="counsellor", languages="nl")
    assert enrolment.password is not None
    assert await dashboard.login("ben", enrolment.secret, password=enrolment.password) == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await dashboard.services.store.run(lambda s: s.execute(
        update(Counsellor).where(col(Counsellor.name) == "ben").values(password_expires_at=past)))
    assert not await _still_in(dashboard.client), "a session still waiting for a new password ends with it"
    page = await dashboard.client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    answer = await dashboard.client.post("/dashboard/login", allow_redirects=False, data={
        "csrf": token[1], "name": "ben", "password": enrolment.password,
        "code": enrolment.recovery_codes[1]})
    assert answer.headers["Location"] == "/dashboard/login?error=expired_password"
    told = await (await dashboard.client.get("/dashboard/login?error=expired_password")).text()
    assert "Ask the administrator for a new one" in told


async def test_a_forgotten_password_is_reset_and_the_second_factor_still_guards_it(dashboard: Dashboard) -> None:
    _, enrolment = await account(dashboard.services, "anna")
    assert await dashboard.login("anna", enrolment.secret) == 200
    with pytest.raises(WeakPassword, match="most common"):
        await reset_password(dashboard.services.store, "anna", password="qwerty123456")
    assert await _still_in(dashboard.client), "a refused reset changes nothing"
    made = await reset_password(dashboard.services.store, "anna")
    assert made is not None
    assert not await _still_in(dashboard.client), "a reset ends every session of the account"
    assert await dashboard.login("anna", enrolment.secret, password=PASSWORD) == 303, "the old password is gone"
    assert await dashboard.login("anna", enrolment.secret, password=made, code="123456") == 303, \
        "the new password alone is not enough: the counsellor's own TOTP still is"
    assert await dashboard.login("anna", enrolment.secret, password=made, code=enrolment.recovery_codes[1]) == 200
    assert (await dashboard.client.get("/dashboard/", allow_redirects=False)).headers["Location"] == \
        "/dashboard/account"
    assert await _change(dashboard.client, made, NEW) == "/dashboard/account?notice=changed"
    [entry] = await _audit(dashboard, "password_reset")
    assert entry.actor == "admin" and entry.detail.startswith("account=anna#")


async def test_a_counsellor_sees_their_sessions_and_ends_one(dashboard: Dashboard) -> None:
    _, enrolment = await account(dashboard.services, "anna")
    ben, ben_enrolment = await account(dashboard.services, "ben")
    laptop = _other(dashboard)
    bens = _other(dashboard)
    try:
        assert await dashboard.login("anna", enrolment.secret, client=laptop,
                                     code=enrolment.recovery_codes[0]) == 200
        assert await dashboard.login("ben", ben_enrolment.secret, client=bens) == 200
        assert await dashboard.login("anna", enrolment.secret) == 200
        page = await (await dashboard.client.get("/dashboard/account")).text()
        handles = re.findall(r'action="/dashboard/account/sessions/([0-9a-f]{16})/end"', page)
        assert len(handles) == 2, "anna's two sessions, not ben's"
        assert page.count("this browser") == 1
        assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", page), "when each was signed in"
        other = next(h for h, row in zip(handles, page.split("/end")[:2], strict=True) if "this browser" not in row)

        ben_page = await (await bens.get("/dashboard/account")).text()
        [ben_handle] = re.findall(r'sessions/([0-9a-f]{16})/end', ben_page)
        csrf = await _csrf(dashboard.client)
        foreign = await dashboard.client.post(f"/dashboard/account/sessions/{ben_handle}/end",
                                              data={"csrf": csrf}, allow_redirects=False)
        assert foreign.status == 404 and await _still_in(bens), "nobody ends a colleague's session"

        ended = await dashboard.client.post(f"/dashboard/account/sessions/{other}/end", data={"csrf": csrf},
                                            allow_redirects=False)
        assert ended.headers["Location"] == "/dashboard/account?notice=ended"
        assert not await _still_in(laptop) and await _still_in(dashboard.client)
        page = await (await dashboard.client.get("/dashboard/account?notice=ended")).text()
        assert len(re.findall(r"sessions/[0-9a-f]{16}/end", page)) == 1
        [own] = re.findall(r"sessions/([0-9a-f]{16})/end", page)
        out = await dashboard.client.post(f"/dashboard/account/sessions/{own}/end", data={"csrf": csrf},
                                          allow_redirects=False)
        assert out.headers["Location"] == "/dashboard/login" and not await _still_in(dashboard.client)
    finally:
        await laptop._session.close()
        await bens._session.close()
    assert isinstance(ben, SignedIn)
    assert [e.detail for e in await _audit(dashboard, "session_ended")] == ["own=no", "own=yes"]
