"""The web chat in a real browser (Debian's chromium): what a newcomer sees and does, screen by screen.

Every screen of the walk passes axe-core's WCAG 2.1 A/AA rules with no serious or critical violation, and
no page breaks its own Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import build_services
from bot.channels.webchat import CHANNEL
from bot.settings import Settings
from bot.storage.repository import Repository
from flows.messages import Outbound
from tests.bot.test_server import free_port
from tests.server_keys import TEST_KEY

SECRET = TEST_KEY
EXIT = "https://neutral.example/"

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@dataclass
class WebchatServer:
    url: str
    data: Path
    proc: subprocess.Popen[str]

    def settings(self) -> Settings:
        return Settings(data_dir=self.data, secret_key=SECRET)


@dataclass
class HostSites:
    """Two other websites on loopback (other ports, so other origins): a school allowed to embed the chat,
    and a site that is not. Both pages carry the widget snippet."""

    school: str
    other: str
    chat_url: str = ""


@pytest.fixture
async def webchat_host_sites() -> AsyncIterator[HostSites]:
    sites = HostSites("", "")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f'<!doctype html><html lang="fr"><title>École</title><h1>École</h1>'
                                 f'<script src="{sites.chat_url}/widget.js"></script></html>', content_type="text/html")

    runners = []
    for _ in range(2):
        app = web.Application()
        app.router.add_get("/", page)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
    ports = [r.addresses[0][1] for r in runners]
    sites.school, sites.other = (f"http://127.0.0.1:{p}" for p in ports)
    yield sites
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def webchat_server(tmp_path: Path, webchat_host_sites: HostSites) -> Iterator[WebchatServer]:
    """`baken serve` as a separate process on a free loopback port, as `make run` starts it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_PORT": str(port), "BAKEN_SECRET_KEY": SECRET,
            "BAKEN_WEBCHAT_EXIT_URL": EXIT, "BAKEN_WEBCHAT_ORIGINS": webchat_host_sites.school}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    url = webchat_host_sites.chat_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)  # a separate process: polling its port is the only signal it gives
        else:
            raise AssertionError("the server did not start")
        yield WebchatServer(url, tmp_path / "data", proc)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@dataclass
class Person:
    """A person at the browser: clicks what they see, and axe looks at every screen they reach."""

    page: Any
    axe: str
    csp_errors: list[str] = field(default_factory=list)
    screens: int = 0

    async def bot_messages(self) -> int:
        return int(await self.page.locator("#log .msg.bot").count())

    async def wait_for_reply(self, before: int) -> None:
        await self.page.wait_for_function(
            "n => document.querySelectorAll('#log .msg.bot').length > n", arg=before, timeout=15000)

    async def check(self, screen: str) -> None:
        """axe-core on the page as it is now: no serious or critical violation."""
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            await self.page.evaluate(self.axe)  # over DevTools: the page's CSP rightly blocks injected scripts
        result = await self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{screen}: {bad}"
        assert not self.csp_errors, f"{screen}: {self.csp_errors}"
        self.screens += 1

    async def choose(self, data: str, screen: str | None = None) -> None:
        before = await self.bot_messages()
        await self.page.locator(f'#log button[data-choice="{data}"]:not([disabled])').last.click()
        await self.wait_for_reply(before)
        if screen:
            await self.check(screen)

    async def type(self, text: str, screen: str | None = None) -> None:
        before = await self.bot_messages()
        await self.page.fill("#message", text)
        await self.page.press("#message", "Enter")
        await self.wait_for_reply(before)
        if screen:
            await self.check(screen)

    async def command(self, name: str) -> None:
        before = await self.bot_messages()
        await self.page.click(f'.tools [data-command="{name}"], .sos [data-command="{name}"]')
        await self.wait_for_reply(before)

    async def last_text(self) -> str:
        return str(await self.page.locator("#log .msg.bot").last.inner_text())


@pytest.fixture
async def person_factory(browser: Any, axe_source: str, webchat_server: WebchatServer) -> AsyncIterator[Any]:
    contexts: list[Any] = []

    async def make(locale: str = "en-GB", width: int = 1280, query: str = "") -> Person:
        context = await browser.new_context(locale=locale, viewport={"width": width, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        person = Person(page, axe_source)
        page.on("console", lambda m: person.csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)
        await page.route(f"{EXIT}**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Weather</title><h1>Weather</h1>"))
        await page.goto(f"{webchat_server.url}/{query}")
        await page.wait_for_selector("#log .msg.bot button:not([disabled])")
        return person

    yield make
    for context in contexts:
        await context.close()


WORDS = {
    "nl": {"story": "Mijn zoon trekt zich terug en zit de hele nacht op zijn telefoon.", "queued": "wachtrij",
           "welcome": "anoniem", "quick_exit": "Snel weg"},
    "fr": {"story": "Mon fils s'isole et passe toute la nuit sur son téléphone.", "queued": "file d'attente",
           "welcome": "anonyme", "quick_exit": "Sortie rapide"},
}


@pytest.mark.parametrize("lang", ["nl", "fr"])
async def test_a_full_conversation_reaches_a_consented_ticket(person_factory: Any, lang: str) -> None:
    words = WORDS[lang]
    person: Person = await person_factory(locale=f"{lang}-BE")
    page = person.page
    assert await page.get_attribute("html", "lang") == lang
    assert words["welcome"] in await person.last_text()
    assert words["quick_exit"] in await page.inner_text("#quick-exit")
    await person.check("welcome")
    await person.choose("go", "role")
    await person.choose("role:parent", "reason")
    await person.choose("reason:young_person", "story")
    await person.type(words["story"], "story told")
    await person.choose("go", "age")
    await person.choose("age:12-15", "observations (checkboxes)")
    await page.check('#log fieldset.checks input[value="withdrawn"]:not([disabled])')
    await page.keyboard.press("Tab")  # the keyboard reaches the next checkbox
    await page.check('#log fieldset.checks input[value="online"]:not([disabled])')
    await person.choose("go", "other worries")
    await person.choose("go", "duration")
    await person.choose("duration:months", "explanations")
    await person.choose("go", "danger question")
    await person.choose("danger:none", "guidance")
    article = page.locator('#log button[data-choice^="read:"]:not([disabled])').first
    before = await person.bot_messages()
    await article.click()
    await person.wait_for_reply(before)
    assert await page.locator("#log .msg.article h2.article-title").count() >= 1
    await person.check("article")
    await person.choose("contacts", "postcode")
    await person.type("1000", "contacts")
    assert await page.locator("#log .msg.contacts a[href^='tel:']").count() >= 1
    await person.choose("counsellor", "goal")
    await person.choose("goal:advice", "review")
    await person.choose("consent", "queued")
    assert words["queued"] in "\n".join(await page.locator("#log .msg.bot").all_inner_texts())
    assert person.screens >= 15


async def test_a_reload_mid_flow_resumes_the_same_conversation(person_factory: Any) -> None:
    person: Person = await person_factory()
    await person.choose("go")
    await person.choose("role:teacher")
    shown = await person.bot_messages()
    token = await person.page.evaluate("sessionStorage.getItem('baken.token')")
    await person.page.reload()
    await person.page.wait_for_selector("#log .msg.bot button:not([disabled])")
    assert await person.bot_messages() == shown, "the transcript is back, not a new welcome"
    assert await person.page.evaluate("sessionStorage.getItem('baken.token')") == token
    await person.check("after reload")
    await person.choose("reason:case")
    assert "own words" in await person.last_text()


async def test_the_tab_keeps_its_transcript_sealed_and_a_copy_taken_before_erasure_shows_nothing(
        person_factory: Any, browser: Any, webchat_server: WebchatServer) -> None:
    """ASVS 14.3.3: sessionStorage holds the token and a ciphertext whose key only the server can give."""
    person: Person = await person_factory()
    await person.choose("go")
    await person.choose("role:teacher")
    await person.type("My pupil Canary-Quokka has stopped talking to anyone in class.")
    kept = await person.page.evaluate("sessionStorage.getItem('baken.log')")
    token = await person.page.evaluate("sessionStorage.getItem('baken.token')")
    sealed = json.loads(kept)
    assert set(sealed) == {"v", "iv", "data"}, "a sealed copy, not the transcript"
    assert "Canary-Quokka" not in kept and "teacher" not in kept.lower()

    await person.command("forget")
    await person.page.locator('#log button[data-choice="forget_yes"]:not([disabled])').click()
    await person.page.wait_for_function("() => sessionStorage.getItem('baken.token') === null")

    # someone at the same computer restores the copy taken before End and erase into a new tab
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.add_init_script(f"sessionStorage.setItem('baken.token', {json.dumps(token)}); "
                                   f"sessionStorage.setItem('baken.log', {json.dumps(kept)});")
        await page.goto(f"{webchat_server.url}/")
        await page.wait_for_selector('#log button[data-choice="go"]:not([disabled])')
        shown = "\n".join(await page.locator("#log .msg").all_inner_texts())
        assert "Canary-Quokka" not in shown and "stopped talking" not in shown, "the erased words stay unreadable"
        assert await page.evaluate("sessionStorage.getItem('baken.token')") != token, "a new conversation"
    finally:
        await context.close()


async def test_switching_language_relabels_the_page_and_keeps_the_conversation(person_factory: Any) -> None:
    person: Person = await person_factory(locale="en-GB")
    page = person.page
    await person.choose("go")
    shown = await person.bot_messages()
    await page.select_option("#language", "de")
    await page.wait_for_function("() => document.documentElement.lang === 'de'")
    await page.wait_for_selector('#log button[data-choice="role:parent"]:not([disabled])')
    assert await page.inner_text("#quick-exit") == "Schnell weg"
    assert await person.bot_messages() > shown, "the conversation so far stays, the question comes again"
    assert "Wer sind Sie" in await person.last_text()
    await person.check("German")


async def test_the_urgent_path_shows_tap_to_call_numbers(person_factory: Any) -> None:
    person: Person = await person_factory(locale="nl-BE")
    page = person.page
    assert await page.locator(".sos a[href='tel:112']").is_visible()
    assert await page.locator(".sos a[href='tel:101']").is_visible()
    await person.command("urgent")
    urgent = page.locator("#log .msg.urgent").last
    assert await urgent.locator("a[href='tel:112']").count() == 1
    await person.check("emergency numbers")
    await person.choose("go")
    await person.choose("role:parent")
    await person.choose("reason:young_person")
    await person.type("Hij zegt dat hij morgen iemand wil doodmaken met een mes.")
    assert await page.locator("#log .msg.urgent").count() == 2, "danger in own words brings the numbers at once"


async def test_quick_exit_leaves_at_once_and_forgets_the_tab(person_factory: Any) -> None:
    person: Person = await person_factory()
    await person.choose("go")
    await person.page.click("#quick-exit")
    await person.page.wait_for_url(EXIT)
    assert await person.page.evaluate("sessionStorage.length") == 0
    await person.page.go_back()
    assert "/chat" not in person.page.url and not person.page.url.startswith("http://127.0.0.1"), (
        "the chat is not in the history"
    )


async def test_escape_twice_is_quick_exit(person_factory: Any) -> None:
    person: Person = await person_factory()
    await person.page.keyboard.press("Escape")
    await person.page.keyboard.press("Escape")
    await person.page.wait_for_url(EXIT)


async def test_end_and_erase_leaves_nothing_and_starts_fresh(person_factory: Any) -> None:
    person: Person = await person_factory(locale="fr-BE")
    page = person.page
    await person.choose("go")
    await person.choose("role:parent")
    await person.command("forget")
    await person.check("confirm erase")
    before = await person.bot_messages()
    await page.locator('#log button[data-choice="forget_yes"]:not([disabled])').click()
    await page.wait_for_function("() => sessionStorage.getItem('baken.token') === null")
    assert await person.bot_messages() <= before, "the old conversation is gone from the screen"
    assert await page.evaluate("sessionStorage.getItem('baken.log')") is None
    await person.check("erased")
    await page.locator('#log button[data-choice="again"]:not([disabled])').click()
    await page.wait_for_function("() => sessionStorage.getItem('baken.token') !== null")
    await page.wait_for_selector('#log button[data-choice="go"]:not([disabled])')


async def test_a_counsellors_message_arrives_live(person_factory: Any, webchat_server: WebchatServer) -> None:
    """Written to the person's outbox by another process, as the dashboard's relay does."""
    person: Person = await person_factory()
    await person.choose("go")
    token = await person.page.evaluate("sessionStorage.getItem('baken.token')")
    services = await build_services(webchat_server.settings(), migrate=False)
    try:
        sid = services.dispatcher.pseudonym(CHANNEL, token)
        said = [Outbound("Hello, I am Anna, a counsellor.").to_json()]
        before = await person.bot_messages()
        await services.store.run(lambda s: Repository(s).add_outbox(
            sid, CHANNEL, services.keyring.conversation(s, sid).seal_json(said, f"outbox:{sid}")))
    finally:
        await services.close()
    await person.wait_for_reply(before)
    assert "I am Anna" in await person.last_text()
    await person.check("relayed message")


async def test_the_plain_http_fallback_carries_the_conversation(person_factory: Any) -> None:
    person: Person = await person_factory(query="?transport=http")
    await person.choose("go")
    await person.choose("role:worker")
    assert json.loads(await person.page.evaluate("sessionStorage.getItem('baken.log')"))["data"]
    await person.page.reload()
    await person.page.wait_for_selector('#log button[data-choice="reason:case"]:not([disabled])')
    assert await person.bot_messages() >= 3, "the sealed copy opens again after a reload"


async def test_the_chat_reads_at_320_pixels(person_factory: Any) -> None:
    person: Person = await person_factory(width=320)
    page = person.page
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "nothing sticks out sideways"
    assert await page.locator("#quick-exit").is_visible()
    await person.check("320 px welcome")
    await person.choose("go", "320 px role")


async def test_a_code_continues_the_conversation_on_another_device(person_factory: Any) -> None:
    first: Person = await person_factory()
    await first.choose("go")
    await first.choose("role:grandparent")
    await first.page.click("#code-button")
    await first.page.wait_for_selector("#code-dialog[open]")
    code = (await first.page.inner_text("#code-value")).strip()
    assert len(code) == 14
    await first.check("code shown")
    await first.page.keyboard.press("Escape")  # closes the dialog; it does not count towards quick exit

    second: Person = await person_factory(locale="en-GB")
    await second.page.click("#resume summary")
    await second.page.fill("#resume-code", code.lower())
    await second.check("code entry")
    await second.page.click("#resume-form button[type=submit]")
    await second.page.wait_for_selector('#log button[data-choice="reason:young_person"]:not([disabled])')
    await second.choose("reason:young_person")
    assert "own words" in await second.last_text()


async def _host_page(context: Any, url: str) -> Any:
    page = await context.new_page()
    await page.route(f"{EXIT}**", lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>x</h1>"))
    await page.goto(url)
    return page


async def test_the_widget_opens_the_chat_on_an_allowed_site(
    browser: Any, webchat_server: WebchatServer, webchat_host_sites: HostSites,
) -> None:
    context = await browser.new_context(locale="fr-BE")
    try:
        page = await _host_page(context, webchat_host_sites.school)
        await page.get_by_role("button", name="Chatter avec Baken").click()
        frame = page.frame_locator("iframe")
        await frame.locator('#log button[data-choice="go"]:not([disabled])').click()
        await frame.locator('#log button[data-choice="role:teacher"]:not([disabled])').wait_for()
        await frame.locator("#quick-exit").click()
        await page.wait_for_url(EXIT)  # the whole page leaves, not only the frame
    finally:
        await context.close()


async def test_a_site_not_allowed_cannot_frame_the_chat(
    browser: Any, webchat_server: WebchatServer, webchat_host_sites: HostSites,
) -> None:
    context = await browser.new_context()
    try:
        page = await _host_page(context, webchat_host_sites.other)
        refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        page.on("console", lambda m: refused.done() or ("frame-ancestors" in m.text and refused.set_result(m.text)))
        await page.get_by_role("button").click()
        assert "frame-ancestors" in await asyncio.wait_for(refused, 15)
        assert await page.frame_locator("iframe").locator("#log").count() == 0
    finally:
        await context.close()
