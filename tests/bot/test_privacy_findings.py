"""PRIVACY.md's findings, fixed: a structured audit log with a retention, the idle purge named as such, the
closing note shown where it serves, and web chat codes erased with their session."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.app import Services
from bot.channels.webchat import codes
from bot.storage import audit
from bot.storage.models import AuditEntry, WebchatCode
from bot.storage.retention import RETENTION_ACTOR, Retention, purge
from handover.lifecycle import Closing, Outcome
from tests.bot.desk_support import consented_ticket, signed_in
from tests.bot.test_desk import desk_of
from tests.bot.test_dispatch import PATH, converse


async def entries(services: Services) -> list[AuditEntry]:
    return await services.store.run(lambda s: list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()))


async def test_the_idle_purge_is_on_record_as_retention_not_as_the_person(services: Services) -> None:
    await converse(services, "gone-quiet", [*PATH, "/stop"])  # a withdrawn request: the session may expire
    await purge(services.store, dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    erased = [e for e in await entries(services) if e.action == "erased"]
    assert erased and all(e.actor == RETENTION_ACTOR for e in erased)


async def test_forget_is_on_record_as_the_person(services: Services) -> None:
    await converse(services, "leaver", [*PATH, "/forget", "#forget_yes"])
    erased = [e for e in await entries(services) if e.action == "erased"]
    assert erased and all(e.actor == "person" for e in erased)


async def test_a_web_chat_code_goes_with_its_session(services: Services) -> None:
    await converse(services, "tab-token", PATH[:4])
    sid = services.keyring.pseudonym("test", "tab-token")
    await services.store.run(lambda s: codes.store_code(s, services.keyring, sid, "tab-token", codes.new_code()))

    async def count() -> int:
        return await services.store.run(lambda s: int(s.execute(
            select(func.count()).select_from(WebchatCode)).scalar_one()))

    assert await count() == 1
    await purge(services.store, dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert await count() == 0, "an idle session's code does not outlive it"


async def test_audit_details_are_fields_never_free_text(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p-audit")
    anna = await signed_in(services, "anna")
    sara = await signed_in(services, "sara", role="supervisor")
    await desk.claim(anna, ticket)
    await desk.ask_review(anna, ticket, "a threat was mentioned twice")
    await desk.transfer(anna, ticket, to=sara.counsellor_id, locale=None, reason="she knows the family's school")
    await desk.close(sara, ticket, Closing(Outcome.REFERRED_LOCAL, "referred to the local prevention desk"))
    logged = await entries(services)
    assert not any(word in e.detail for e in logged for word in ("family", "threat", "prevention"))
    assert any(e.action == "transfer" and e.detail == f"to=counsellor#{sara.counsellor_id}" for e in logged)
    view = await desk.view(sara, ticket)
    assert view.outcome_detail == "referred to the local prevention desk", "the closing note is shown"
    notes = " ".join(n.text for n in view.notes)
    assert "she knows the family's school" in notes and "a threat was mentioned twice" in notes
    with pytest.raises(ValueError):
        await services.store.run(lambda s: audit.append(s, "admin", "note", None, "free text: the person said"))


async def test_old_audit_entries_are_purged_and_the_rest_still_verifies(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p-old")
    anna = await signed_in(services, "anna")
    await desk.claim(anna, ticket)
    await desk.release(anna, ticket)
    first = (await entries(services))[:2]
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    await services.store.run(lambda s: s.execute(
        update(AuditEntry).where(AuditEntry.id.in_([e.id for e in first])).values(at=old)))  # type: ignore[union-attr]
    await purge(services.store, dt.datetime.now(dt.UTC), Retention())
    kept = await entries(services)
    assert [e.id for e in kept] and min(e.id for e in kept if e.id is not None) > max(e.id or 0 for e in first)
    assert (await services.store.run(audit.verify_all)).ok, "the chain holds from the oldest entry kept"


def test_a_broken_audit_retention_setting_purges_on_the_default() -> None:
    policy, warnings = Retention.parse(audit_entries="forever")
    assert policy.audit_days == 365 and warnings
    assert Retention.parse(audit_entries="3")[0].audit_days == 365, "not under a month"
