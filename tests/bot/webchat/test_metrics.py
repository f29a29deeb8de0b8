"""`/metrics` counts what happened and names nobody: a scripted conversation full of canaries, then a scrape."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlmodel import col

from bot import metrics
from bot.channels.webchat import CHANNEL
from bot.desk import DeskService
from bot.storage.models import Ticket
from tests.bot.desk_support import signed_in
from tests.bot.webchat.conftest import ChatServer, MakeServer, buttons, texts

CANARY_STORY = "Kanarie Zebediah Quillfeather 3090 Overijse zebra-canary-story"
CANARY_RELAY = "zebra-canary-relay: he writes to +32470123456 as @quill_feather_99"
CANARY_REPLY = "zebra-canary-reply from the counsellor"
#: every label a Baken metric may carry, with every value it may take
ALLOWED = {
    "channel": {*metrics.CHANNELS, metrics.OTHER},
    "outcome": {*metrics.OUTCOMES, metrics.OTHER},
    "phase": {"flow", "stored", metrics.OTHER},
    "level": {*metrics.LEVELS, metrics.OTHER},
    "direction": {"to_counsellor", "to_person", "delivered", "failed", metrics.OTHER},
    "le": None,  # histogram bucket bounds: numbers
}


async def scrape(server: ChatServer, **headers: str) -> tuple[int, str]:
    response = await server.client.get("/metrics", headers=headers or None)
    return response.status, await response.text()


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_scrape_after_a_conversation_moves_the_counters_and_holds_no_personal_data(
    webchat_api: ChatServer,
) -> None:
    status, before_body = await scrape(webchat_api)
    assert status == 200
    before = samples(before_body)

    tab = await webchat_api.tab()
    await tab.hello("en")
    for step in ("go", "role:parent", "reason:general"):
        await tab.choose(step)
    told = await tab.act({"type": "text", "text": CANARY_STORY})
    if "danger:none" not in buttons(told):  # the story step may ask once more before the danger question
        told = await tab.choose("go")
    assert "danger:none" in buttons(told), texts(told)
    for step in ("danger:none", "counsellor", "goal:advice", "consent"):
        await tab.choose(step)
    services = webchat_api.services
    assert tab.token is not None
    sid = services.dispatcher.pseudonym(CHANNEL, tab.token)
    (ticket_id,) = await services.store.run(
        lambda s: list(s.execute(select(col(Ticket.id)).where(col(Ticket.session_id) == sid)).scalars()))
    level = await services.store.run(lambda s: s.get(Ticket, ticket_id).level)

    anna = await signed_in(services, "anna", languages="en,nl")
    desk = DeskService(services.store, services.keyring, on_relay=webchat_api.chat.poke)
    await desk.claim(anna, ticket_id)
    await desk.reply(anna, ticket_id, CANARY_REPLY)
    seen = ""
    while CANARY_REPLY not in seen:  # the reply is pushed to the page: then the page answers it
        seen += texts(await tab.until("messages"))
    await tab.act({"type": "text", "text": CANARY_RELAY})
    for _ in range(200):  # the step is counted once committed: wait until the desk has the person's answer
        _status, lines = await desk.messages_after(anna, ticket_id, 0)
        if any(line.sender == "person" for line in lines):
            break
        await asyncio.sleep(0.05)

    status, body = await scrape(webchat_api)
    assert status == 200
    after = samples(body)

    # nothing of the person, the ticket or the counsellor in the scrape
    for canary in (CANARY_STORY, "Quillfeather", "zebra-canary", "3090", "Overijse", "+32470123456",
                   "quill_feather", sid, sid[:8], tab.token, "anna", "Anna"):
        assert not _appears(canary, body), f"{canary!r} appears in /metrics"
    for (name, labels), _ in after.items():
        if not name.startswith("baken_"):
            continue
        for key, val in labels:
            assert key in ALLOWED, f"{name} has an unexpected label {key}"
            allowed = ALLOWED[key]
            assert allowed is None or val in allowed, f"{name}{{{key}={val!r}}} is not from the fixed list"

    stepped = "baken_updates_total"
    assert value(after, stepped, channel="web", outcome="stepped") - value(
        before, stepped, channel="web", outcome="stepped") >= 9
    for phase in ("flow", "stored"):
        moved = value(after, "baken_step_seconds_count", channel="web", phase=phase) - value(
            before, "baken_step_seconds_count", channel="web", phase=phase)
        assert moved >= 9, phase
    assert value(after, "baken_tickets_opened_total", level=level) - value(
        before, "baken_tickets_opened_total", level=level) == 1
    assert value(after, "baken_queue_open_tickets", level=level) == 1, "the claimed request is still open"
    assert value(after, "baken_first_answer_seconds_count", level=level) - value(
        before, "baken_first_answer_seconds_count", level=level) == 1
    for direction in ("to_person", "to_counsellor"):
        assert value(after, "baken_relay_messages_total", direction=direction, channel="web") - value(
            before, "baken_relay_messages_total", direction=direction, channel="web") == 1, direction
    assert value(after, "process_resident_memory_bytes") > 0, "the process collector is on"


async def test_metrics_refuse_a_request_through_a_proxy(webchat_api: ChatServer) -> None:
    status, _ = await scrape(webchat_api, **{"X-Forwarded-For": "198.51.100.7"})
    assert status == 404, "nginx connects from loopback too; its forwarding header gives it away"


async def test_with_a_token_only_the_bearer_reads_metrics(webchat_server_factory: MakeServer) -> None:
    server = await webchat_server_factory(metrics_token="scrape-token-0123456789abcdef")
    assert (await scrape(server))[0] == 404, "loopback alone is not enough once a token is set"
    assert (await scrape(server, Authorization="Bearer wrong"))[0] == 404
    status, body = await scrape(server, Authorization="Bearer scrape-token-0123456789abcdef")
    assert status == 200 and "# TYPE baken_updates_total counter" in body


@pytest.mark.parametrize(("peer", "allowed"), [("127.0.0.1", True), ("::1", True), ("203.0.113.5", False),
                                               ("10.0.0.4", False)])
def test_without_a_token_only_a_direct_loopback_peer_reads(peer: str, allowed: bool) -> None:
    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return (peer, 40000) if name == "peername" else default

    request = make_mocked_request("GET", "/metrics", transport=Transport())
    assert metrics.may_read(request, None) is allowed


def test_a_value_outside_the_fixed_lists_becomes_other() -> None:
    assert metrics.label("3f9a1c0b3f9a1c0b", metrics.CHANNELS) == "other"
    assert metrics.label("web", metrics.CHANNELS) == "web"
    assert metrics.label(None, metrics.LEVELS) == "other"


async def test_a_scrape_is_plain_prometheus_text_never_cached(webchat_api: ChatServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(webchat_api.client.make_url("/metrics")) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain") and r.headers["Cache-Control"] == "no-store"
        assert "# TYPE baken_step_seconds histogram" in await r.text()


def _appears(canary: str, body: str) -> bool:
    """A number canary (the postcode) counts only as a number of its own, not as digits inside a sample's
    value: `*_created` timestamps such as 1.7957596832330909e+09 hold every four-digit run sooner or later."""
    if canary.isdigit():
        return re.search(rf"(?<![\d.]){canary}(?!\d)", body) is not None
    return canary in body
