"""The counsellor's desk against the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from bot.app import Services
from bot.desk import Conflict, Denied, DeskService
from bot.storage import audit
from bot.storage.desk import pending_relay
from bot.storage.models import AuditEntry, TicketStat
from handover.lifecycle import Closing, LifecycleError, Outcome
from tests.bot.desk_support import consented_ticket, signed_in


def desk_of(services: Services) -> DeskService:
    return DeskService(services.store, services.keyring)


async def test_twenty_counsellors_claim_at_once_and_exactly_one_wins(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p1")
    people = [await signed_in(services, f"c{i:02d}") for i in range(20)]
    results = await asyncio.gather(*(desk.claim(me, ticket) for me in people), return_exceptions=True)
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, (Conflict, Denied)) for r in results if r is not None)
    holder = people[results.index(None)]
    view = await desk.view(holder, ticket)
    assert view.status == "claimed" and view.holder_id == holder.counsellor_id


async def test_the_person_is_told_who_joined_and_gets_each_reply_through_their_channel(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p2", locale="fr")
    anna = await signed_in(services, "anna")
    await desk.claim(anna, ticket)
    await desk.reply(anna, ticket, "<script>alert(1)</script> Bonjour")
    sid = services.keyring.pseudonym("console", "p2")
    texts = await services.store.run(lambda s: [m["text"] for r in pending_relay(s, "console", sid)
                                                for m in services.keyring.conversation(s, sid)
                                                .open_json(r.payload, f"outbox:{sid}")])
    assert "Anna" in texts[0] and texts[0] != texts[1]
    assert texts[1] == "Anna: <script>alert(1)</script> Bonjour", "text is passed as text; channels escape it"
    view = await desk.view(anna, ticket)
    assert [m.sender for m in view.messages] == ["counsellor"]
    assert "p2" not in repr(view) and sid not in repr(view), "no pseudonym or channel id reaches the counsellor"


async def test_after_transfer_the_former_holder_reads_nothing(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p3")
    anna = await signed_in(services, "anna")
    ben = await signed_in(services, "ben", languages="de")
    await desk.claim(anna, ticket)
    await desk.transfer(anna, ticket, to=ben.counsellor_id, locale=None, reason="German speaker asked")
    with pytest.raises(Denied):
        await desk.view(anna, ticket)
    with pytest.raises(Denied):
        await desk.messages_after(anna, ticket, 0)
    await desk.claim(ben, ticket)
    assert (await desk.view(ben, ticket)).holder_id == ben.counsellor_id


async def test_close_with_outcome_then_reopen_by_a_supervisor(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p4")
    anna = await signed_in(services, "anna")
    sara = await signed_in(services, "sara", role="supervisor")
    await desk.claim(anna, ticket)
    await desk.note(anna, ticket, "Sounds like a row at home", ["family_conflict"])
    with pytest.raises(LifecycleError):
        await desk.close(anna, ticket, Closing(Outcome.AUTHORITIES, "plan"))
    await desk.close(anna, ticket, Closing(Outcome.REFERRED_LOCAL, "CAW"))
    with pytest.raises(Denied):
        await desk.view(anna, ticket)
    view = await desk.view(sara, ticket)
    assert view.status == "closed" and view.outcome == "referred_local"
    assert view.notes[0].text == "Sounds like a row at home" and view.notes[0].explanations == ("family_conflict",)
    await desk.reopen(sara, ticket)
    assert (await desk.view(anna, ticket)).status == "waiting"
    stat = await services.store.run(lambda s: s.get(TicketStat, ticket))
    assert stat is not None and stat.outcome is None


async def test_the_audit_chain_holds_and_any_edit_is_detected(services: Services) -> None:
    desk = desk_of(services)
    ticket = await consented_ticket(services, "p5")
    anna = await signed_in(services, "anna")
    await desk.claim(anna, ticket)
    await desk.reply(anna, ticket, "a secret the log must not hold")
    await desk.view(anna, ticket)
    await desk.release(anna, ticket)
    check = await services.store.run(audit.verify_all)
    assert check.ok and check.checked >= 4  # account, claim, view, release
    entries = await services.store.run(lambda s: list(s.execute(select(AuditEntry)).scalars()))
    assert all("secret" not in e.detail for e in entries)
    claim = next(e for e in entries if e.action == "claim")
    await services.store.run(lambda s: s.execute(
        update(AuditEntry).where(AuditEntry.id == claim.id).values(actor="somebody-else")))  # type: ignore[arg-type]
    broken = await services.store.run(audit.verify_all)
    assert not broken.ok and broken.broken_at == claim.id


async def test_a_danger_word_in_a_relayed_message_raises_the_ticket_to_urgent(services: Services) -> None:
    import io

    from bot.channels.console import run_console
    from tests.bot.test_console import TO_TICKET

    out = io.StringIO()
    lines = [*TO_TICKET, "Hij zei gisteren dat hij een wapen heeft gekocht."]
    await run_console(services.dispatcher, locale="nl", session="p6", stdin=io.StringIO("\n".join(lines) + "\n"),
                      stdout=out)
    assert "112" in out.getvalue().split("wapen")[-1], "the numbers at once, to the person"
    sara = await signed_in(services, "sara", role="supervisor")
    rows, _, _ = await desk_of(services).queue(sara)
    (row,) = rows
    assert row.item.level == "urgent" and "screen:weapons" in row.item.reasons, "the screen names its category"
    assert row.item.priority == services.engine.content.triage.priority["urgent"]


async def test_sessions_end_after_30_idle_minutes_and_12_hours_in_all(services: Services) -> None:
    import datetime as dt

    import pyotp

    from tests.bot.desk_support import PASSWORD, account

    now = [dt.datetime.now(dt.UTC)]
    desk = DeskService(services.store, services.keyring, clock=lambda: now[0])
    _, enrolment = await account(services, "anna")

    code = pyotp.TOTP(enrolment.secret).at(now[0])
    result = await desk.login("anna", PASSWORD, code, "127.0.0.1")
    assert result.token is not None
    signed_at = now[0]
    while await desk.signed_in(result.token) is not None:  # active every 29 minutes
        now[0] += dt.timedelta(minutes=29)
        assert now[0] - signed_at < dt.timedelta(hours=13)
    assert dt.timedelta(hours=12) <= now[0] - signed_at <= dt.timedelta(hours=12, minutes=29), "12 hours at most"
    second = await desk.login("anna", PASSWORD, pyotp.TOTP(enrolment.secret).at(now[0]), "127.0.0.1")
    assert second.token is not None
    now[0] += dt.timedelta(minutes=31)
    assert await desk.signed_in(second.token) is None, "30 minutes idle"


async def test_forget_erases_notes_and_messages_but_the_audit_keeps_that_it_happened(services: Services) -> None:
    from bot.storage.models import TicketNote
    from bot.storage.repository import Repository

    desk = desk_of(services)
    ticket = await consented_ticket(services, "p7")
    anna = await signed_in(services, "anna")
    await desk.claim(anna, ticket)
    await desk.note(anna, ticket, "a note", [])
    await desk.reply(anna, ticket, "hello")
    sid = services.keyring.pseudonym("console", "p7")
    await services.store.run(lambda s: Repository(s).forget(sid))
    notes = await services.store.run(lambda s: list(s.execute(select(TicketNote)).scalars()))
    assert notes == []
    entries = await services.store.run(lambda s: audit.recent(s))
    assert any(e.action == "erased" and e.ticket_id == ticket for e in entries)
    assert (await services.store.run(audit.verify_all)).ok


async def test_an_escalation_is_told_to_the_person_and_a_reopen_brings_them_back_to_the_chat(
    services: Services,
) -> None:
    from content.i18n import translator

    desk = desk_of(services)
    ticket = await consented_ticket(services, "p8", locale="fr")
    anna = await signed_in(services, "anna")
    sara = await signed_in(services, "sara", role="supervisor")
    await desk.claim(anna, ticket)
    await desk.ask_review(anna, ticket, "threat mentioned")
    assert (await desk.view(sara, ticket)).review_requested
    await desk.close(sara, ticket, Closing(Outcome.AUTHORITIES, "a dated plan to hurt someone"))
    sid = services.keyring.pseudonym("console", "p8")
    texts = await services.store.run(lambda s: [m["text"] for r in pending_relay(s, "console", sid)
                                                for m in services.keyring.conversation(s, sid)
                                                .open_json(r.payload, f"outbox:{sid}")])
    fr = translator("fr")
    assert any(fr("Because of serious, immediate danger to someone's life, a supervisor decided to inform the "
                  "emergency services, as the consent text said could happen.") in x for x in texts)
    state, _ = await services.dispatcher.load_state("console", "p8")
    assert state == "done"
    entries = await services.store.run(lambda s: audit.recent(s))
    assert any(e.action == "close" and e.detail == "outcome=authorities" and e.actor.startswith("sara")
               for e in entries)
    assert not any("dated plan" in e.detail or "threat" in e.detail for e in entries), "no free text in the log"
    view = await desk.view(sara, ticket)
    assert view.outcome_detail == "a dated plan to hurt someone", "the reason shows on the ticket instead"
    assert any("threat mentioned" in n.text for n in view.notes), "the review's reason is a note on the ticket"
    await desk.reopen(sara, ticket)
    state, _ = await services.dispatcher.load_state("console", "p8")
    assert state == "waiting"
