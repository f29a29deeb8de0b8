"""Controls that docs/asvs-l2.md counts as covered only because these tests would fail without them: headers
on every kind of answer, what the server refuses to serve, how dashboard sessions end, the sign-in form, and
how people's text becomes links. Each test names the ASVS 5.0 requirements it stands for."""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlmodel import col

from bot import security_log
from bot.app import Services
from bot.channels.webchat.render import render_message
from bot.counsellors import AccountError, Enrolment, disable_counsellor, end_sessions, reset_second_factor
from bot.dashboard import declared
from bot.dashboard.auth import DEV_COOKIE
from bot.server import SERVICES, make_app
from bot.settings import Settings, api_transport_problem, database_transport_problem
from bot.storage.desk import Desk
from bot.storage.models import AuditEntry, DashboardSession, TicketEvent
from flows.messages import Outbound
from handover.credentials import hash_password, verify_password
from handover.permissions import Action
from tests.bot.desk_support import PASSWORD, account, consented_ticket, fresh_code
from tests.bot.test_dashboard_access import dashboard_routes
from tests.server_keys import TEST_KEY


class Site:
    """Baken's whole server on loopback, the dashboard in development mode (plain HTTP, plainly named cookie)."""

    def __init__(self, client: TestClient[Any, Any], app: web.Application) -> None:
        self.client = client
        self.app = app

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def sign_in(self, name: str, enrolment: Enrolment, client: TestClient[Any, Any] | None = None,
                      code: str | None = None) -> str:
        """Sign in through the form (with the current TOTP code unless given); the session cookie's value."""
        c = client or self.client
        page = await c.get("/dashboard/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert csrf is not None
        code = code or fresh_code(enrolment.secret)
        answer = await c.post("/dashboard/login", allow_redirects=False,
                              data={"csrf": csrf[1], "name": name, "password": PASSWORD, "code": code})
        assert answer.headers.get("Location") == "/dashboard/?notice=signed_in", "signed in"
        cookie = {m.key: m.value for m in c.session.cookie_jar}.get(DEV_COOKIE)
        assert cookie
        return cookie

    async def csrf(self) -> str:
        page = await self.client.get("/dashboard/")
        m = re.search(r'data-csrf="([^"]+)"', await page.text())
        assert m is not None
        return m[1]

    async def with_cookie(self, token: str, path: str = "/dashboard/") -> int:
        """The status a browser holding only this session cookie gets (a fresh client, nothing else)."""
        other: TestClient[Any, Any] = TestClient(self.client.server)
        try:
            answer = await other.get(path, headers={"Cookie": f"{DEV_COOKIE}={token}"}, allow_redirects=False)
            return answer.status if answer.headers.get("Location") != "/dashboard/login" else 401
        finally:
            await other._session.close()


def settings_for(tmp_path: Path, **more: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}",
                    secret_key=TEST_KEY, dashboard_dev=True, **more)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    app = make_app(settings_for(tmp_path))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail of a bug: /srv/baken/bot/x.py line 12")

    app.router.add_get("/broken-for-test", broken)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Site(client, app)
    finally:
        await client.close()


EVERY_KIND = ("/", "/privacy", "/healthz", "/content-status", "/widget.js", "/chat/static/chat.js",
              "/chat/static/chat.css", "/dashboard/login", "/dashboard/static/dashboard.js", "/no-such-page")


def no_plugins_and_fixed_base(csp: str) -> bool:
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    objects = directives.get("object-src", directives.get("default-src"))
    return objects == ["'none'"] and directives.get("base-uri") == ["'none'"]


async def test_every_kind_of_answer_forbids_plugins_and_base_changes_and_sniffing(site: Site) -> None:
    """ASVS 3.2.1, 3.4.3: pages, scripts, styles, JSON, errors and the CSV download alike."""
    answers = [await site.client.get(path) for path in EVERY_KIND]
    answers.append(await site.client.post("/chat/send", json={"token": None, "lang": "en", "frame": {
        "type": "hello", "token": None, "lang": "en", "fresh": True}}))
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    csv = await site.client.get("/dashboard/stats.csv")
    assert csv.status == 200 and csv.headers["Content-Disposition"].startswith("attachment;")
    answers.append(csv)
    for answer in answers:
        where = f"{answer.method} {answer.url.path}"
        assert answer.headers["X-Content-Type-Options"] == "nosniff", where
        csp = answer.headers["Content-Security-Policy"]
        assert no_plugins_and_fixed_base(csp), f"{where}: {csp}"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where


async def test_trace_listings_and_paths_out_of_the_static_folders_are_refused(site: Site) -> None:
    """ASVS 13.4.3, 13.4.4, 5.3.2."""
    for path in ("/", "/dashboard/login", "/chat/static/chat.js"):
        assert (await site.client.request("TRACE", path)).status == 405, path
    for path in ("/chat/static/", "/chat/static", "/dashboard/static/"):
        answer = await site.client.get(path)
        assert answer.status in (403, 404) and "chat.js" not in await answer.text(), path
    for path in ("/chat/static/../../../settings.py", "/chat/static/%2e%2e/%2e%2e/settings.py",
                 "/chat/static/..%2F..%2F..%2Fsettings.py", "/dashboard/static/..%2Fauth.py",
                 "/dashboard/static/%2e%2e%2fauth.py", "/chat/static/../../../../../etc/passwd"):
        answer = await site.client.get(path)
        body = await answer.text()
        assert answer.status in (403, 404), path
        assert "BaseSettings" not in body and "import" not in body and "root:" not in body, path


async def test_dashboard_answers_are_never_cached(site: Site) -> None:
    """ASVS 14.2.2, 14.3.2: every dashboard answer, signed in or not, tells caches to keep nothing."""
    assert (await site.client.get("/dashboard/login")).headers["Cache-Control"] == "no-store"
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    ticket = await consented_ticket(site.services, "p1")
    for path in ("/dashboard/", "/dashboard/queue/rows", f"/dashboard/tickets/{ticket}", "/dashboard/audit",
                 "/dashboard/stats", "/dashboard/stats.csv", "/dashboard/canned", "/dashboard/contacts",
                 "/dashboard/tickets/999999"):
        answer = await site.client.get(path, allow_redirects=False)
        assert answer.headers["Cache-Control"] == "no-store", f"{path} ({answer.status})"
        assert answer.status == (403 if path.endswith("999999") else 200), "no such ticket: denied, not an error"


async def test_signing_out_ends_the_session_on_the_server(site: Site) -> None:
    """ASVS 7.4.1: a copy of the cookie is worth nothing once its holder signed out."""
    _, enrolment = await account(site.services, "anna")
    token = await site.sign_in("anna", enrolment)
    assert await site.with_cookie(token) == 200
    answer = await site.client.post("/dashboard/logout", data={"csrf": await site.csrf()}, allow_redirects=False)
    assert answer.headers["Location"] == "/dashboard/login"
    assert await site.with_cookie(token) == 401
    rows = await site.services.store.run(
        lambda s: s.execute(select(func.count()).select_from(DashboardSession)).scalar_one())
    assert rows == 0, "the session is deleted on the server, not only in the browser"


async def test_disabling_an_account_or_resetting_its_second_factor_ends_its_sessions(site: Site) -> None:
    """ASVS 7.4.2, 7.4.3: the administrator's commands end every session of the account at once."""
    _, anna = await account(site.services, "anna")
    _, ben = await account(site.services, "ben")
    anna_token = await site.sign_in("anna", anna)
    other: TestClient[Any, Any] = TestClient(site.client.server)
    try:
        ben_token = await site.sign_in("ben", ben, other)
    finally:
        await other._session.close()
    await reset_second_factor(site.services.store, site.services.keyring, "anna")
    assert await site.with_cookie(anna_token) == 401, "a new second factor ends the sessions made with the old"
    assert await site.with_cookie(ben_token) == 200, "a colleague's session is untouched"
    await disable_counsellor(site.services.store, "ben")
    assert await site.with_cookie(ben_token) == 401


async def test_every_signed_in_page_offers_sign_out(site: Site) -> None:
    """ASVS 7.4.4."""
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    ticket = await consented_ticket(site.services, "p1")
    for path in ("/dashboard/", f"/dashboard/tickets/{ticket}", "/dashboard/audit", "/dashboard/stats",
                 "/dashboard/canned", "/dashboard/contacts", "/dashboard/tickets/999999"):
        page = await site.client.get(path)
        assert re.search(r'<form method="post" action="/dashboard/logout"', await page.text()), path


async def test_the_sign_in_form_masks_the_password_and_leaves_paste_and_managers_alone(site: Site) -> None:
    """ASVS 6.2.6, 6.2.7."""
    page = await (await site.client.get("/dashboard/login")).text()
    field = re.search(r'<input[^>]*name="password"[^>]*>', page)
    assert field is not None
    assert 'type="password"' in field[0] and 'autocomplete="current-password"' in field[0]
    assert not re.search(r"onpaste|oncopy|autocomplete=\"off\"", page)
    script = await (await site.client.get("/dashboard/static/dashboard.js")).text()
    assert "paste" not in script


async def test_a_dashboard_session_token_is_256_random_bits_and_new_at_each_sign_in(site: Site) -> None:
    """ASVS 7.2.3, 7.2.4 (a new token at each sign-in)."""
    _, enrolment = await account(site.services, "anna")
    first = await site.sign_in("anna", enrolment)
    other: TestClient[Any, Any] = TestClient(site.client.server)
    try:  # the TOTP code of this step is spent: the second sign-in uses a recovery code
        second = await site.sign_in("anna", enrolment, other, code=enrolment.recovery_codes[0])
    finally:
        await other._session.close()
    for token in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), "32 random bytes, URL-safe"
    assert first != second
    third = await site.sign_in("anna", enrolment, code=enrolment.recovery_codes[1])  # the browser of `first`
    assert third not in (first, second)
    assert await site.with_cookie(first) == 401, "the session the browser signed in over is ended"
    assert await site.with_cookie(third) == 200 and await site.with_cookie(second) == 200


async def test_no_get_request_changes_anything(site: Site) -> None:
    """ASVS 3.5.3: reading every dashboard page changes no ticket, reply or account; only views are audited."""
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    ticket = await consented_ticket(site.services, "p1")

    def snapshot(s: Any) -> tuple[Any, ...]:
        row = Desk(s).ticket(ticket)
        assert row is not None
        events = s.execute(select(func.count()).select_from(TicketEvent)).scalar_one()
        return row.status, row.holder_id, row.review_requested, events, len(Desk(s).canned(None))

    before = await site.services.store.run(snapshot)
    gets = [(path, handler) for method, path, handler in dashboard_routes(site.app) if method == "GET"]
    assert len(gets) >= 10
    for path, handler in gets:
        url = path.replace("{ticket}", str(ticket)).replace("{name}", "dashboard.js")
        async with site.client.get(url, allow_redirects=False) as answer:
            assert answer.status == 200, url
        assert declared(handler) is not None
    assert await site.services.store.run(snapshot) == before
    actions = await site.services.store.run(lambda s: set(s.execute(select(col(AuditEntry.action))).scalars()))
    assert actions <= {"account_added", "login", "view"}
    assert Action.CLAIM.value not in actions


async def test_a_server_error_shows_nothing_of_the_fault(site: Site) -> None:
    """ASVS 16.5.1."""
    answer = await site.client.get("/broken-for-test")
    body = await answer.text()
    assert answer.status == 500
    assert "Traceback" not in body and "RuntimeError" not in body and "secret detail" not in body
    assert "/srv/" not in body and ".py" not in body


async def test_development_mode_is_refused_off_this_computer(tmp_path: Path) -> None:
    """ASVS 13.4.2, 15.2.3: BAKEN_DASHBOARD_DEV on a server others can reach changes nothing. And the sign-in
    form's own cookie is SameSite=Strict and HttpOnly (ASVS 3.3.2)."""
    for host, dev in (("0.0.0.0", False), ("192.0.2.10", False), ("127.0.0.1", True)):
        (tmp_path / host).mkdir()
        app = make_app(settings_for(tmp_path / host, host=host))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            page = await client.get("/dashboard/login")
            said = "Development mode" in await page.text()
            cookies = page.headers.getall("Set-Cookie")
            assert said is dev, host
            assert cookies and all(("Secure" in c) is not dev for c in cookies), f"{host}: {cookies}"
            assert all("SameSite=Strict" in c and "HttpOnly" in c for c in cookies), "ASVS 3.3.2, 3.3.4"


def connect_sources(csp: str) -> list[str]:
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    return directives["connect-src"]


async def test_a_chat_page_served_over_https_lets_its_socket_use_tls_only(tmp_path: Path) -> None:
    """ASVS 4.4.1: behind the proxy (X-Forwarded-Proto from a trusted peer) the page's policy allows `wss://`
    and never `ws://`; on plain HTTP on loopback (`make run`) `ws://` still works; an untrusted peer's header
    changes nothing."""
    app = make_app(settings_for(tmp_path, trusted_proxies="127.0.0.1"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for path in ("/", "/?embed=1"):
            behind = await client.get(path, headers={"X-Forwarded-Proto": "https", "Host": "baken.example"})
            csp = behind.headers["Content-Security-Policy"]
            assert connect_sources(csp) == ["'self'", "wss://baken.example"], csp
            assert "ws://" not in csp
        local = await client.get("/", headers={"Host": "127.0.0.1:8080"})
        assert connect_sources(local.headers["Content-Security-Policy"]) == [
            "'self'", "ws://127.0.0.1:8080", "wss://127.0.0.1:8080"], "plain HTTP on loopback keeps working"
    (tmp_path / "untrusted").mkdir()
    app = make_app(settings_for(tmp_path / "untrusted"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        forged = await client.get("/", headers={"X-Forwarded-Proto": "https", "Host": "baken.example"})
        assert "ws://baken.example" in forged.headers["Content-Security-Policy"], "no trusted proxy: header ignored"


PG = "postgresql+asyncpg://baken:pa55word@"


def test_production_refuses_a_database_across_the_network_without_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """ASVS 12.3.1: PostgreSQL on another machine must be asked for TLS in the URL (a mode that refuses a
    connection without it); a Unix socket, loopback and SQLite need none. A Bot API server over plain http://
    must be on this host. `baken serve` in production stops
    before it binds, saying what to add; in development it warns. The password is never repeated."""
    for unsafe in (f"{PG}db.internal:5432/baken", f"{PG}db.internal/baken?ssl=prefer",
                   f"{PG}10.0.0.5/baken?ssl=disable", f"{PG}/baken?host=db.internal",
                   "postgresql+psycopg://baken:pa55word@db.internal/baken?sslmode=allow"):
        problem = database_transport_problem(unsafe)
        assert problem is not None and "ssl=verify-full" in problem and "pa55word" not in problem, unsafe
    for safe in (f"{PG}db.internal/baken?ssl=verify-full", f"{PG}db.internal:5432/baken?ssl=require",
                 "postgresql+psycopg://baken:pa55word@db.internal/baken?sslmode=verify-ca",
                 f"{PG}127.0.0.1:5432/baken", f"{PG}localhost/baken", f"{PG}[::1]/baken",
                 f"{PG}/baken?host=/run/postgresql", "postgresql+asyncpg:///baken", f"sqlite+aiosqlite:///{tmp_path}/b"):
        assert database_transport_problem(safe) is None, safe
    assert api_transport_problem("http://bot-api.internal:8081") is not None, "the Bot API: the same rule"
    for api in ("https://api.telegram.org", "http://127.0.0.1:8081", "http://localhost:8081", None):
        assert api_transport_problem(api) is None, api
    unsafe = f"{PG}db.internal:5432/baken"
    assert Settings(database_url=unsafe).transport_warnings(), "development: a warning"
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    for name in [k for k in os.environ if k.startswith("BAKEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BAKEN_ENVIRONMENT", "production")
    monkeypatch.setenv("BAKEN_DATABASE_URL", unsafe)
    monkeypatch.setenv("BAKEN_PORT", "1")  # were it to bind, it would fail loudly
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "db.internal" in err and "?ssl=verify-full" in err and "pa55word" not in err
    monkeypatch.setenv("BAKEN_DATABASE_URL", f"{PG}db.internal/baken?ssl=verify-full")
    monkeypatch.setenv("BAKEN_TELEGRAM_API_URL", "http://bot-api.internal:8081")
    assert main(["serve"]) == 2
    assert "bot-api.internal, another machine, over plain http://" in capsys.readouterr().err


def test_long_passwords_work_and_are_checked_exactly() -> None:
    """ASVS 6.2.8, 6.2.9: 64 characters and more are fine; nothing is cut, folded or trimmed."""
    for password in ("x" * 64, "Een lange zin: 🙂 mag ook, met spaties en leestekens!" * 4):
        stored = hash_password(password)
        assert verify_password(stored, password).ok
        for near in (password.upper(), password[:-1], password + " ", " " + password, password[:63]):
            if near != password:
                assert not verify_password(stored, near).ok, repr(near[-5:])


def test_only_web_addresses_and_phone_numbers_become_links() -> None:
    """ASVS 1.2.2: other schemes stay text; an address cannot break out of its attribute."""
    shown = str(render_message(Outbound(
        'javascript:alert(1) data:text/html,<b>x</b> vbscript:x https://ok.example/a"onmouseover="alert(1) '
        "call 02 123 45 67"))["html"])
    hrefs = re.findall(r'href="([^"]*)"', shown)
    assert hrefs and all(h.startswith(("https://", "http://", "tel:")) for h in hrefs), hrefs
    assert not re.search(r'href="(javascript|data|vbscript):', shown)
    assert not re.search(r"<[^>]*onmouseover", shown) and "<b>" not in shown


async def test_the_bot_api_client_follows_no_redirect(tmp_path: Path) -> None:
    """ASVS 15.3.2: an answer from the Bot API address that points elsewhere is not followed; the server
    refuses to start rather than talk to whatever the redirect names."""
    from tests.bot.fake_telegram import TOKEN, FakeBotAPI
    from tests.bot.test_telegram import fast_tuning

    elsewhere = FakeBotAPI()
    await elsewhere.start()

    async def bounce(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(elsewhere.url + request.path_qs)  # 307: the method and body would go too

    redirector = web.Application()
    redirector.router.add_route("*", "/{tail:.*}", bounce)
    bouncing = TestServer(redirector, host="127.0.0.1")
    await bouncing.start_server()
    settings = settings_for(tmp_path, telegram_token=TOKEN,
                            telegram_api_url=str(bouncing.make_url("")).rstrip("/"))
    client: TestClient[Any, Any] = TestClient(TestServer(make_app(settings, telegram=fast_tuning()), host="127.0.0.1"))
    try:
        with pytest.raises(Exception, match="307"):
            await client.start_server()
        assert elsewhere.of("getMe") == [] and elsewhere.calls == [], "nothing reached the redirect's target"
    finally:
        await client.close()
        await bouncing.close()
        await elsewhere.close()


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A TLS server context with a certificate nobody vouches for (made here, for 127.0.0.1)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_the_bot_api_client_refuses_a_certificate_nobody_vouches_for(tmp_path: Path) -> None:
    """ASVS 12.3.2: Baken talks to the Bot API only over a TLS connection whose certificate checks out."""
    from tests.bot.fake_telegram import TOKEN

    reached: list[str] = []

    async def anything(request: web.Request) -> web.StreamResponse:
        reached.append(request.path)
        return web.json_response({"ok": True, "result": {}})

    impostor = web.Application()
    impostor.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(impostor)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_self_signed(tmp_path))
    await site.start()
    port = runner.addresses[0][1]
    settings = settings_for(tmp_path, telegram_token=TOKEN, telegram_api_url=f"https://127.0.0.1:{port}")
    from tests.bot.test_telegram import fast_tuning

    client: TestClient[Any, Any] = TestClient(TestServer(make_app(settings, telegram=fast_tuning()), host="127.0.0.1"))
    try:
        with pytest.raises(Exception, match=r"(?i)certificate|ssl"):
            await client.start_server()
        assert reached == [], "no request was sent over the unverified connection"
    finally:
        await client.close()
        await runner.cleanup()


async def test_a_request_with_two_lengths_is_refused_before_any_handler(site: Site) -> None:
    """ASVS 4.2.1: a request whose length is given twice (Content-Length and chunked) is refused by the
    server, so a proxy that reads one and Baken the other cannot smuggle a second request through."""
    import asyncio

    host, port = site.client.server.host, site.client.server.port
    smuggled = (b"POST /chat/send HTTP/1.1\r\nHost: baken\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\nGET /dashboard/audit HTTP/1.1\r\nHost: baken\r\n\r\n")
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(smuggled)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()
    assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer[:80]
    assert len(re.findall(rb"HTTP/1\.[01] \d{3} ", answer)) == 1, "the hidden second request was never read"


HUGE = ("99999999999999999999", str(2**63), "0", "%EF%BC%99", "1e3")  # past 64 bits, zero, a full-width 9, …


async def test_numbers_in_dashboard_paths_and_forms_are_range_checked(site: Site) -> None:
    """ASVS 1.4.2: an id no 64-bit row can have answers 404 (path) or 400 (form), never a server error; the
    largest id that can exist is looked up like any other and denied."""
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    ticket = await consented_ticket(site.services, "p1")
    csrf = await site.csrf()
    assert (await site.client.post(f"/dashboard/tickets/{ticket}/claim", data={"csrf": csrf},
                                   allow_redirects=False)).status == 303
    for raw in HUGE:
        for path in (f"/dashboard/tickets/{raw}", f"/dashboard/tickets/{raw}/events"):
            assert (await site.client.get(path, allow_redirects=False)).status == 404, path
        for path in (f"/dashboard/tickets/{raw}/reply", f"/dashboard/tickets/{raw}/claim",
                     f"/dashboard/canned/{raw}/delete"):
            answer = await site.client.post(path, data={"csrf": csrf, "text": "hello"}, allow_redirects=False)
            assert answer.status == 404, path
        answer = await site.client.get(f"/dashboard/tickets/{ticket}/events?after={raw}", allow_redirects=False,
                                       headers={"Accept": "text/event-stream"})
        assert answer.status == (200 if raw == "0" else 404), f"after={raw}"
        answer.close()
        answer = await site.client.post(f"/dashboard/tickets/{ticket}/transfer", allow_redirects=False,
                                        data={"csrf": csrf, "to": f"c:{raw}", "reason": ""})
        assert answer.status == 400, f"transfer to c:{raw}"
        answer = await site.client.post("/dashboard/canned", allow_redirects=False, data={
            "csrf": csrf, "id": raw, "locale": "nl", "title": "t", "body": "b"})
        assert answer.status == 400, f"canned id {raw}"
    largest = str(2**63 - 1)
    assert (await site.client.get(f"/dashboard/tickets/{largest}", allow_redirects=False)).status == 403
    answer = await site.client.post(f"/dashboard/tickets/{ticket}/transfer", allow_redirects=False,
                                    data={"csrf": csrf, "to": f"c:{largest}", "reason": ""})
    assert answer.status == 400, "no such colleague"
    view = await site.client.get(f"/dashboard/tickets/{ticket}")
    assert view.status == 200, "the ticket is still sara's, untouched by all of the above"


async def test_every_text_answer_names_its_charset(site: Site) -> None:
    """ASVS 4.1.1: pages, scripts, styles, images in SVG, JSON and the CSV say which charset they are in."""
    paths = (*EVERY_KIND, "/chat/static/pages.css", "/chat/static/icon.svg", "/dashboard/static/dashboard.css")
    answers = [await site.client.get(path) for path in paths]
    answers.append(await site.client.post("/chat/send", json={"token": None, "lang": "en", "frame": {
        "type": "hello", "token": None, "lang": "en", "fresh": True}}))
    _, enrolment = await account(site.services, "sara", "supervisor", "nl")
    await site.sign_in("sara", enrolment)
    answers.append(await site.client.get("/dashboard/stats.csv"))
    for answer in answers:
        kind = answer.headers.get("Content-Type", "")
        assert "charset=utf-8" in kind.lower(), f"{answer.method} {answer.url.path}: {kind!r}"
        await answer.read()
        (await answer.text(encoding="utf-8")).encode("utf-8")  # and it is UTF-8 indeed


async def test_the_sign_in_forms_cookie_is_host_only_and_secure_off_development(tmp_path: Path) -> None:
    """ASVS 3.3.1, 3.3.3: both dashboard cookies carry __Host- (Secure, Path=/, no Domain) on a real server;
    on 127.0.0.1 in development mode, over plain HTTP, they are plainly named and signing in still works."""
    app = make_app(settings_for(tmp_path, host="0.0.0.0"))  # development mode refused: the real cookies
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        page = await client.get("/dashboard/login")
        (cookie,) = page.headers.getall("Set-Cookie")
        name = cookie.split("=", 1)[0]
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
        assert name == "__Host-baken_login", cookie
        assert "secure" in attributes and attributes["path"] == "Path=/" and "domain" not in attributes, cookie
        answer = await client.post("/dashboard/login", data={"csrf": "x", "name": "a", "password": "b", "code": "1"},
                                   allow_redirects=False, headers={"Cookie": "baken_login=x"})
        assert answer.headers["Location"] == "/dashboard/login?error=expired", "the unprefixed name is not read"


async def test_development_mode_signs_in_over_plain_http(site: Site) -> None:
    """The development cookies have no prefix (a browser keeps no __Host- cookie over plain HTTP)."""
    page = await site.client.get("/dashboard/login")
    (cookie,) = page.headers.getall("Set-Cookie")
    assert cookie.startswith("baken_dev_login=") and "Secure" not in cookie, cookie
    _, enrolment = await account(site.services, "anna")
    assert await site.sign_in("anna", enrolment)


async def test_refused_authorisations_and_security_events_are_logged_without_personal_data(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 16.3.1, 16.3.2, 16.3.3: sign-ins (both ways), a refused action, a forged form and a foreign site's
    chat request each leave one line naming the event, the action and the role, but never a name, a typed
    value, a ticket number, a token or an address."""
    caplog.set_level(logging.INFO)
    _, anna = await account(site.services, "anna", "counsellor", "nl")
    ticket = await consented_ticket(site.services, "p1", locale="fr")  # not a language anna works in
    page = await site.client.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    wrong = await site.client.post("/dashboard/login", allow_redirects=False, data={
        "csrf": csrf[1], "name": "anna", "password": "Hunter2-but-longer", "code": "000000"})
    assert wrong.headers["Location"] == "/dashboard/login?error=wrong"
    forged = await site.client.post("/dashboard/login", allow_redirects=False, data={
        "csrf": "forged-by-another-site", "name": "anna", "password": PASSWORD, "code": "000000"})
    assert forged.headers["Location"] == "/dashboard/login?error=expired"
    token = await site.sign_in("anna", anna)
    assert (await site.client.get(f"/dashboard/tickets/{ticket}", allow_redirects=False)).status == 403
    answer = await site.client.post(f"/dashboard/tickets/{ticket}/claim", data={"csrf": "nope"},
                                    allow_redirects=False)
    assert answer.status == 403
    answer = await site.client.post("/chat/send", headers={"Origin": "https://elsewhere.example"}, json={
        "token": None, "lang": "en", "frame": {"type": "hello", "token": None, "lang": "en", "fresh": True}})
    assert answer.status == 403
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == [
        "security sign_in_failed reason=wrong",
        "security sign_in_form_refused reason=csrf",
        "security sign_in",
        "security authorisation_refused action=view_ticket role=counsellor route=/dashboard/tickets/{ticket}",
        "security csrf_refused role=counsellor route=/dashboard/tickets/{ticket}/claim",
        "security chat_origin_refused transport=http",
    ], said
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "baken.security"}
    assert levels.pop("security sign_in") == logging.INFO and set(levels.values()) == {logging.WARNING}
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("baken"))
    for secret in ("anna", "Hunter2", PASSWORD, token, csrf[1], "forged-by-another-site", "elsewhere", "127.0.0.1",
                   f"/dashboard/tickets/{ticket}"):
        assert secret not in logged, secret


def test_limit_hits_are_logged_once_a_minute_with_their_count(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS 16.3.3 without a log flood: the first hit at once, then one line a minute per limit with the count."""
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    for second in (0.0, 1.0, 2.0, 30.0, 59.0):
        security_log.limit_hit("webchat_tab", now=1000 + second)
    security_log.limit_hit("webchat_address", now=1010)
    security_log.limit_hit("webchat_tab", now=1060)
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == ["security limit_hit hits=1 limit=webchat_tab", "security limit_hit hits=1 limit=webchat_address",
                    "security limit_hit hits=5 limit=webchat_tab"]


async def test_a_web_chat_flood_is_logged_without_the_address(
    site: Site, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS 16.3.3: new conversations past their limit are refused and that is said in the log, nothing more."""
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    reasons = []
    for _ in range(25):
        answer = await site.client.post("/chat/send", json={"token": None, "lang": "en", "frame": {
            "type": "hello", "token": None, "lang": "en", "fresh": True}})
        reasons.append(json.dumps(await answer.json()))
    assert any("slow_down" in r for r in reasons), "the limit holds"
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == ["security limit_hit hits=1 limit=webchat_new_conversations"]
    assert "127.0.0.1" not in "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("baken"))


async def test_malformed_chat_frames_and_forged_choices_are_logged_without_the_person(
    site: Site, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS 16.3.3: the page never sends a malformed frame or a choice no question offered, so each is a
    security event: a reason code and the transport, a line a minute at most per kind; never the frame, the
    token, the session's pseudonym or the address."""
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    hello = await site.client.post("/chat/send", json={"token": None, "lang": "en", "frame": {
        "type": "hello", "token": None, "lang": "en", "fresh": True}})
    token = next(f["token"] for f in (await hello.json())["frames"] if f["type"] == "session")
    for _ in range(3):
        assert (await site.client.post("/chat/send", data=b"{canary-body")).status == 400
    answer = await site.client.post("/chat/send", json={"token": token, "lang": "en",
                                                        "frame": {"type": "canary-kind"}})
    assert [f["reason"] for f in (await answer.json())["frames"]] == ["bad_frame"]
    for data in ("canary:forged", "role:parent"):  # made up; a real button, but not of this question
        await site.client.post("/chat/send", json={"token": token, "lang": "en",
                                                   "frame": {"type": "choice", "data": data}})
    async with site.client.ws_connect("/chat/ws") as ws:
        await ws.send_str("{canary-socket")
        assert json.loads((await ws.receive(timeout=10)).data)["reason"] == "bad_frame"
        await ws.send_bytes(b"canary-binary")
        await ws.receive(timeout=10)
    async with site.client.ws_connect("/chat/ws") as ws:
        await ws.send_str("canary" * 20_000)  # past the 64 KiB a frame may have
        await ws.receive(timeout=10)
    said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
    assert said == [
        "security chat_frame_refused hits=1 reason=not_json transport=http",
        "security chat_frame_refused hits=1 reason=bad_field transport=http",
        "security button_refused channel=web hits=1 reason=forged",
        "security button_refused channel=web hits=1 reason=stale",
        "security chat_frame_refused hits=1 reason=not_json transport=websocket",
        "security chat_frame_refused hits=1 reason=binary transport=websocket",
        "security chat_frame_refused hits=1 reason=too_big_or_broken transport=websocket",
    ], said
    pseudonym = site.services.dispatcher.pseudonym("web", token)
    everything = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("baken"))
    for secret in ("canary", token, pseudonym, "127.0.0.1"):
        assert secret not in everything, secret


async def test_the_administrator_can_end_one_accounts_sessions_or_everyones(site: Site) -> None:
    """ASVS 7.4.5: `baken counsellor sign-out NAME` ends that account's sessions and leaves it active;
    `--all` ends every session; both are audited."""
    _, anna = await account(site.services, "anna")
    _, ben = await account(site.services, "ben")
    anna_token = await site.sign_in("anna", anna)
    other: TestClient[Any, Any] = TestClient(site.client.server)
    try:
        ben_token = await site.sign_in("ben", ben, other)
        await end_sessions(site.services.store, "anna")
        assert await site.with_cookie(anna_token) == 401
        assert await site.with_cookie(ben_token) == 200, "a colleague's session is untouched"
        again = await site.sign_in("anna", anna, code=anna.recovery_codes[0])
        assert await site.with_cookie(again) == 200, "the account itself stays active"
        await end_sessions(site.services.store, None)
        assert await site.with_cookie(again) == 401 and await site.with_cookie(ben_token) == 401
    finally:
        await other._session.close()
    with pytest.raises(AccountError):
        await end_sessions(site.services.store, "nobody")
    details = await site.services.store.run(lambda s: [e.detail for e in s.execute(
        select(AuditEntry).where(col(AuditEntry.action) == "sessions_ended")).scalars()])
    assert details[0].startswith("account=anna#") and details[1].startswith("account=all count=2")
