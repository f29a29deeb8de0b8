"""At most five new counsellor requests per person in 48 hours, kept across restarts, kindly refused after."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select

from bot import security_log
from bot.app import build_services
from bot.settings import Settings
from bot.storage.models import RequestMark, Ticket
from bot.storage.retention import purge
from content.i18n import translator
from flows.engine import Engine, fresh_data
from flows.messages import Inbound
from tests.bot.test_dispatch import PATH, converse

REFUSED = ("You have asked for a counsellor {n} times in the last 48 hours. That is as many new requests as Baken "
           "can take from one person, so that everyone who writes can be helped.")
LATER = ("You can ask for a counsellor again in two days. Until then, the lines below listen day and night, and "
         "everything else here stays open to you.")
STILL_OPEN = ("Your open request is still in the queue: a counsellor will answer you here. You can add to it by "
              "writing to me.")
QUEUED = "Thank you. Your request is in the queue for a counsellor."


async def tickets(services: object) -> int:
    async with services.sessions() as s:  # type: ignore[attr-defined]
        return int((await s.execute(select(func.count()).select_from(Ticket))).scalar_one())


async def test_a_sixth_request_in_48_hours_is_refused_kindly_even_after_a_restart(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(security_log, "_hits", {})
    monkeypatch.setattr(security_log, "_last_line", {})
    caplog.set_level(logging.INFO)
    services = await build_services(settings)
    try:
        for _ in range(5):  # a request, then withdrawn with /stop: the next one is a new request
            texts = await converse(services, "asker", [*PATH, "/stop"], locale="fr")
            assert translator("fr")(QUEUED) in texts
        assert await tickets(services) == 5
        refused = await converse(services, "asker", PATH, locale="fr")
        assert translator("fr")(REFUSED).format(n=5) in refused
        assert translator("fr")(LATER) in refused, "told when they can ask again"
        assert any("112" in r and "101" in r for r in refused), "and to the numbers"
        assert await tickets(services) == 5, "no sixth ticket"
        # ASVS 16.3.3: hitting the cap is a security event; the line names no one (no pseudonym, no text)
        said = [r.getMessage() for r in caplog.records if r.name == "baken.security"]
        assert said == ["security limit_hit hits=1 limit=counsellor_requests"]
        pseudonym = services.dispatcher.pseudonym("test", "asker")
        assert not any(pseudonym in line or "asker" in line for line in said)
        other = await converse(services, "someone-else", PATH, locale="fr")
        assert translator("fr")(REFUSED).format(n=5) not in other, "the limit is per person"
        async with services.sessions() as s:
            keys = set((await s.execute(select(RequestMark.key))).scalars())
            sessions = set((await s.execute(select(Ticket.session_id))).scalars())
        assert len(keys) == 2 and not keys & sessions, "marks are pseudonymous and match no session id"
    finally:
        await services.close()

    services = await build_services(settings)  # a restart: the marks are in the database
    try:
        again = await converse(services, "asker", PATH, locale="fr")
        assert any(translator("fr")(REFUSED).format(n=5) in r for r in again)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=49)
        services.dispatcher.clock = lambda: later
        after = await converse(services, "asker", PATH, locale="fr")
        assert translator("fr")(QUEUED) in after
        await purge(services.store, later)
        async with services.sessions() as s:
            left = (await s.execute(select(func.count()).select_from(RequestMark))).scalar_one()
        assert left == 1, "marks older than 48 hours are purged; the newest stays"
    finally:
        await services.close()


def test_the_refusal_is_translated_in_every_language() -> None:
    for lang in ("nl", "fr", "de"):
        assert translator(lang)(REFUSED) != REFUSED
        assert translator(lang)(LATER) != LATER
        assert translator(lang)(STILL_OPEN) != STILL_OPEN


def test_past_the_limit_with_a_request_open_the_person_is_pointed_to_it(engine: Engine) -> None:
    data = fresh_data("nl")
    data.update(ticket_open=True, recent_requests=5, level="concern", role="parent", goal="advice")
    result = engine.step("review", data, Inbound.choice("consent"))
    shown = [r.text for r in result.replies]
    assert translator("nl")(STILL_OPEN) in shown
    assert result.state == "waiting" and not result.effects, "no new request; back with the open one"
