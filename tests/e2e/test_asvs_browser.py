"""Two ASVS controls only a real browser can show: the web chat's token never appears in a URL (ASVS 14.2.1),
and the widget on a host page ignores messages that do not come from the chat (ASVS 3.5.5)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import needs_chromium
from tests.e2e.test_webchat import EXIT, HostSites, WebchatServer
from tests.e2e.test_webchat import webchat_host_sites as webchat_host_sites  # a fixture
from tests.e2e.test_webchat import webchat_server as webchat_server  # a fixture

EVIL = "https://evil.example/"


async def _walk(page: Any) -> None:
    """Three answers: enough for the page to send its token on every transport it uses."""
    for choice in ("go", "role:parent", "reason:young_person"):
        before = await page.locator("#log .msg.bot").count()
        await page.locator(f'#log button[data-choice="{choice}"]:not([disabled])').last.click()
        await page.wait_for_function(
            "n => document.querySelectorAll('#log .msg.bot').length > n", arg=before, timeout=15000)


@needs_chromium
async def test_the_conversation_token_never_appears_in_a_url(browser: Any, webchat_server: WebchatServer) -> None:
    for query in ("", "?transport=http"):  # the WebSocket, and the plain-HTTP fallback
        context = await browser.new_context()
        try:
            page = await context.new_page()
            urls: list[str] = []
            page.on("request", lambda r, into=urls: into.append(r.url))
            page.on("websocket", lambda ws, into=urls: into.append(ws.url))
            await page.goto(f"{webchat_server.url}/{query}")
            await page.wait_for_selector("#log .msg.bot button:not([disabled])")
            await _walk(page)
            await page.reload()  # a reload resumes with the stored token: still never in a URL
            await page.wait_for_selector("#log .msg.bot button:not([disabled])")
            token = await page.evaluate("sessionStorage.getItem('baken.token')")
            assert token and len(token) >= 40, "the tab holds its token"
            assert any("/chat/" in u for u in urls), "the page talked to the server"
            assert not [u for u in urls if token in u], f"{query or 'socket'}: the token is in a URL"
            assert token not in page.url
        finally:
            await context.close()


@needs_chromium
async def test_the_widget_ignores_messages_that_are_not_from_the_chat(
    browser: Any, webchat_server: WebchatServer, webchat_host_sites: HostSites,
) -> None:
    context = await browser.new_context(locale="fr-BE")
    try:
        page = await context.new_page()
        asked_for: list[str] = []

        async def record(route: Any) -> None:
            asked_for.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html", body="<h1>x</h1>")

        await page.route(f"{EVIL}**", record)
        await page.route(f"{EXIT}**", record)
        await page.goto(webchat_host_sites.school)
        await page.get_by_role("button", name="Chatter avec Baken").click()
        frame = page.frame_locator("iframe")
        await frame.locator('#log button[data-choice="go"]:not([disabled])').wait_for()
        # the host page's own scripts, or anything else on it, say "exit": not the chat's origin
        await page.evaluate("to => window.postMessage({baken: 'exit', to: to}, '*')", EVIL)
        # the chat's frame itself, but a message of another shape
        chat = next(f for f in page.frames if f.url.startswith(webchat_server.url))
        await chat.evaluate("to => parent.postMessage({baken: 'leave', to: to}, '*')", EVIL)
        await chat.evaluate("to => parent.postMessage('exit ' + to, '*')", EVIL)
        await asyncio.sleep(1.0)  # a navigation it obeyed would have asked for the address by now
        assert asked_for == [] and page.url.startswith(webchat_host_sites.school)
        await frame.locator("#quick-exit").click()  # the chat's own exit still works
        await page.wait_for_url(EXIT)
        assert set(asked_for) == {EXIT}, "the frame and the page both leave for the neutral site, nowhere else"
    finally:
        await context.close()
