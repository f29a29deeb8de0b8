"""Every dashboard route × role × ticket: the answer follows the permission table, and a route that declares
no action fails this test. Then sign-in: TOTP required, codes used once, five failures lock for 30 minutes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.dashboard import declared
from bot.dashboard.auth import DEV_COOKIE
from bot.desk import SignedIn
from bot.storage.desk import Desk, facts_of
from handover.lifecycle import Closing, Outcome
from handover.permissions import TICKET_ACTIONS, Action, allowed
from tests.bot.desk_support import Dashboard, account, consented_ticket, fresh_code


def dashboard_routes(app: web.Application) -> list[tuple[str, str, Any]]:
    sub = next(r._app for r in app.router.resources()
               if isinstance(r, web.PrefixedSubAppResource) and r.canonical == "/dashboard")
    out = []
    for route in sub.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        out.append((route.method, path, route.handler))
    return out


OBJECTS = ("own", "another's", "waiting", "closed", "transferred")


async def make_objects(d: Dashboard, me: SignedIn, other: SignedIn, tag: str) -> dict[str, int]:
    desk = d.desk
    ids = {name: await consented_ticket(d.services, f"{tag}-{name}") for name in OBJECTS}
    await desk.claim(me, ids["own"])
    await desk.claim(other, ids["another's"])
    await desk.claim(other, ids["closed"])
    await desk.close(other, ids["closed"], Closing(Outcome.ADVICE))
    await desk.claim(other, ids["transferred"])
    await desk.transfer(other, ids["transferred"], to=None, locale="nl", reason="")
    return ids


async def test_every_route_declares_an_action_and_answers_by_the_table(dashboard: Dashboard) -> None:
    routes = dashboard_routes(dashboard.app)
    undeclared = [(m, p) for m, p, h in routes if declared(h) is None]
    assert not undeclared, f"routes without a declared action: {undeclared}"
    assert len(routes) >= 20

    people = {}
    for role in ("counsellor", "supervisor"):
        me, enrolment = await account(dashboard.services, f"{role}-me", role, "nl,fr")
        people[role] = (me, enrolment)
    other, _ = await account(dashboard.services, "other", "counsellor", "nl")
    checked = 0
    for role, (me, enrolment) in people.items():
        client: TestClient[Any, Any] = TestClient(dashboard.client.server)  # the same server, its own cookies
        try:
            checked += await check_routes(dashboard, routes, me, enrolment.secret, other, client, role)
        finally:
            await client._session.close()
    assert checked > 100


async def check_routes(dashboard: Dashboard, routes: list[tuple[str, str, Any]], me: SignedIn, secret: str,
                       other: SignedIn, client: TestClient[Any, Any], role: str) -> int:
    checked = 0
    assert await dashboard.login(me.name, secret, client=client) == 200
    headers = {"X-CSRF-Token": await dashboard.csrf(client)}
    for n, (method, path, handler) in enumerate(routes):
        action = declared(handler)
        assert action is not None
        if action is Action.PUBLIC or path.endswith("/logout"):
            continue
        targets: list[tuple[str, int | None]] = [("none", None)]
        if "{ticket}" in path:
            ids = await make_objects(dashboard, me, other, f"{role}-{n}")
            targets = list(ids.items())
        for obj, ticket_id in targets:
            url = path.replace("{ticket}", str(ticket_id)).replace("{reply}", "1")
            facts = None
            if ticket_id is not None:
                row = await dashboard.services.store.run(lambda s, i=ticket_id: Desk(s).ticket(i))
                assert row is not None
                facts = facts_of(row)
            expected = allowed(action, me.actor, facts) if action in TICKET_ACTIONS or facts is None else True
            async with client.request(method, url, headers=headers, allow_redirects=False) as answer:
                status = answer.status
            if expected:
                assert status not in (401, 403), f"{role} {method} {path} on {obj}: {status}, expected allowed"
            elif action is Action.CLAIM and obj == "another's":
                assert status == 409, "a claim lost to a colleague is told so kindly"
            else:
                assert status == 403, f"{role} {method} {path} on {obj}: {status}, expected 403"
            checked += 1
    return checked


async def test_a_post_without_the_csrf_token_is_refused(dashboard: Dashboard) -> None:
    me, enrolment = await account(dashboard.services, "anna", "counsellor", "nl")
    ticket = await consented_ticket(dashboard.services, "p")
    assert await dashboard.login(me.name, enrolment.secret) == 200
    answer = await dashboard.client.post(f"/dashboard/tickets/{ticket}/claim", allow_redirects=False)
    assert answer.status == 403
    row = await dashboard.services.store.run(lambda s: Desk(s).ticket(ticket))
    assert row is not None and row.status == "waiting"


async def test_sign_in_needs_the_code_each_code_works_once_and_five_failures_lock(dashboard: Dashboard) -> None:
    _, enrolment = await account(dashboard.services, "anna", "counsellor", "nl")
    assert await dashboard.login("anna", enrolment.secret, code="000000") == 303
    assert await dashboard.login("anna", enrolment.secret, password="wrong password!!") == 303
    code = fresh_code(enrolment.secret)
    assert await dashboard.login("anna", enrolment.secret, code=code) == 200
    assert DEV_COOKIE in {c.key for c in dashboard.client.session.cookie_jar}
    assert await dashboard.login("anna", enrolment.secret, code=code) == 303, "a used code never works twice"
    assert await dashboard.login("anna", enrolment.secret, code=enrolment.recovery_codes[0]) == 200
    assert await dashboard.login("anna", enrolment.secret, code=enrolment.recovery_codes[0]) == 303
    # four failures so far (wrong code, wrong password, reused code, reused recovery code): one more locks
    assert await dashboard.login("anna", enrolment.secret, code="111111") == 303
    page = await dashboard.client.get("/dashboard/login?error=locked")
    assert "Too many failed attempts" in await page.text()
    locked = await dashboard.login("anna", enrolment.secret, code=enrolment.recovery_codes[1])
    assert locked == 303, "after five failures even the right code is refused for 30 minutes"


async def test_after_signing_in_the_counsellor_sees_their_previous_sign_in_and_failures_since(
        dashboard: Dashboard) -> None:
    """A stolen account is noticed by its owner: the sign-in before this one, and failed tries since."""
    _, enrolment = await account(dashboard.services, "anna", "counsellor", "nl")
    assert await dashboard.login("anna", enrolment.secret) == 200
    first = await (await dashboard.client.get("/dashboard/?notice=signed_in")).text()
    assert "This is the first sign-in on your account" in first

    assert await dashboard.login("anna", enrolment.secret, password="not the password") == 303
    assert await dashboard.login("anna", enrolment.secret, code="000000") == 303
    assert await dashboard.login("anna", enrolment.secret, code=enrolment.recovery_codes[0]) == 200
    again = await (await dashboard.client.get("/dashboard/?notice=signed_in")).text()
    when = re.search(r"Your previous sign-in was on (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", again)
    assert when is not None, again
    moment = dt.datetime.strptime(when[1], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    assert abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(minutes=2)
    assert "Since then, 2 sign-ins with your name failed" in again
    assert "Change your password now and tell a supervisor" in again
    plain = await (await dashboard.client.get("/dashboard/")).text()
    assert "previous sign-in" not in plain, "said once, right after signing in"


async def test_the_development_mode_says_so_on_the_page(dashboard: Dashboard) -> None:
    page = await dashboard.client.get("/dashboard/login")
    assert "Development mode" in await page.text()
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


async def test_each_counsellor_chooses_the_dashboard_language(dashboard: Dashboard) -> None:
    _, enrolment = await account(dashboard.services, "anna", "counsellor", "nl")
    assert await dashboard.login("anna", enrolment.secret) == 200
    bare = await dashboard.client.get("/dashboard", allow_redirects=False)
    assert bare.headers["Location"] == "/dashboard/"
    csrf = await dashboard.csrf()
    for lang, word in (("nl", "Wachtrij"), ("fr", "File d'attente"), ("de", "Warteschlange"), ("en", "Queue")):
        await dashboard.client.post("/dashboard/language", data={"csrf": csrf, "lang": lang})
        page = await (await dashboard.client.get("/dashboard/")).text()
        assert f'<html lang="{lang}">' in page and word in page.replace("&#39;", "'")


async def test_counsellors_see_which_services_nobody_has_confirmed(dashboard: Dashboard) -> None:
    from content.directory import Directory

    _, enrolment = await account(dashboard.services, "anna", "counsellor", "nl")
    assert await dashboard.login("anna", enrolment.secret) == 200
    page = await (await dashboard.client.get("/dashboard/contacts")).text()
    directory = Directory.load()
    unconfirmed = directory.unconfirmed()
    assert unconfirmed, "the directory says which entries no one confirmed with the service"
    assert f"{len(unconfirmed)} of {len(directory)} services not yet confirmed" in page
    assert all(f'id="contact-{c.id}"' in page for c in unconfirmed)
    confirmed = [c for c in directory if c.confirmed is not None]
    assert all(f'id="contact-{c.id}"' not in page for c in confirmed)
