"""ASVS 3.5.4: with BAKEN_DASHBOARD_HOST the dashboard lives on its own host name and nowhere else; without
it (`make run`), one host serves everything as before."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from bot.server import make_app
from bot.settings import Settings
from tests.bot.desk_support import account
from tests.bot.test_asvs_controls import Site, settings_for
from tests.bot.test_dashboard_access import dashboard_routes

DASHBOARD_HOST = "dashboard.baken.example"
PUBLIC_PAGES = ("/", "/privacy", "/widget.js", "/chat/static/chat.js", "/healthz")


@pytest.fixture
async def split(tmp_path: Path) -> AsyncIterator[Site]:
    """The whole server with the dashboard on its own host; the client asks for that host unless told."""
    app = make_app(settings_for(tmp_path, dashboard_host=DASHBOARD_HOST))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"), headers={"Host": DASHBOARD_HOST})
    await client.start_server()
    try:
        yield Site(client, app)
    finally:
        await client.close()


def _concrete(path: str) -> str:
    return "/dashboard" + re.sub(r"\{[^}]+\}", "1", path)


async def test_every_dashboard_route_is_404_on_any_other_host_even_signed_in(split: Site) -> None:
    _, enrolment = await account(split.services, "sara", "supervisor", "nl")
    await split.sign_in("sara", enrolment)  # on the dashboard's host: the session works there
    assert (await split.client.get("/dashboard/", allow_redirects=False)).status == 200
    routes = dashboard_routes(split.app)
    assert len(routes) > 20
    for host in ("baken.example", "BAKEN.example:443", "127.0.0.1", "[::1]:8080", "dashboard.baken.example.evil"):
        for method, path, _ in routes:
            answer = await split.client.request(method, _concrete(path), headers={"Host": host},
                                                allow_redirects=False)
            assert answer.status == 404, f"{host} {method} {path}: {answer.status}"
        for path in ("/dashboard", "/dashboard/", "/dashboard/static/dashboard.js"):
            answer = await split.client.get(path, headers={"Host": host}, allow_redirects=False)
            assert answer.status == 404, f"{host} {path}"
    # the public host keeps its pages, and the operations endpoints answer on the process's own address
    for path in PUBLIC_PAGES:
        assert (await split.client.get(path, headers={"Host": "baken.example"})).status == 200, path
    assert (await split.client.get("/healthz", headers={"Host": "127.0.0.1:8081"})).status == 200


async def test_the_dashboards_host_serves_only_the_dashboard(split: Site) -> None:
    for host in (DASHBOARD_HOST, "Dashboard.Baken.Example:443", DASHBOARD_HOST + "."):
        assert (await split.client.get("/dashboard/login", headers={"Host": host})).status == 200, host
    root = await split.client.get("/", allow_redirects=False)
    assert root.status == 301 and root.headers["Location"] == "/dashboard/"
    for path in PUBLIC_PAGES[1:]:
        assert (await split.client.get(path, allow_redirects=False)).status == 404, path
    for path in ("/chat/send", "/chat/poll", "/chat/resume"):
        assert (await split.client.post(path, json={}, allow_redirects=False)).status == 404, path


async def test_without_the_setting_one_host_serves_everything_as_before(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert settings.dashboard_host is None
    app = make_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for host in ("127.0.0.1:8080", "localhost", "baken.example"):
            assert (await client.get("/dashboard/login", headers={"Host": host})).status == 200, host
            assert (await client.get("/privacy", headers={"Host": host})).status == 200, host


@pytest.mark.parametrize("value", ["https://dashboard.baken.example", "dashboard.baken.example:8443",
                                   "dashboard.baken.example/desk", "two words", "-bad.example"])
def test_the_setting_takes_a_host_name_only(value: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="BAKEN_DASHBOARD_HOST must be a host name only"):
        Settings(data_dir=tmp_path, dashboard_host=value)
    assert Settings(data_dir=tmp_path, dashboard_host=" Dashboard.Baken.Example. ").dashboard_host == DASHBOARD_HOST
