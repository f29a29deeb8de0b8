"""The no-loss path against a real database: SQLite always, PostgreSQL when one answers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.dispatch import Envelope
from bot.storage.models import (
    ConsentRecord,
    ConversationSession,
    InboundSeen,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStat,
)
from bot.storage.repository import NewTicket, Repository
from bot.storage.sealed import open_profile
from flows.messages import Inbound
from handover.consent import CONSENT_VERSION
from handover.queue_rules import ConsentMissing

PATH = [
    "/start", "#go", "#role:grandparent", "#reason:young_person", "He only talks about the group now.", "#go",
    "#age:16-17", "#tick:violence_ok", "#tick:withdrawn", "#go", "#go", "#duration:months", "#go", "#danger:none",
    "#counsellor", "#goal:referral", "#consent",
]


async def converse(services: Services, user: str, steps: list[str], locale: str = "en") -> list[str]:
    texts: list[str] = []
    for step in steps:
        inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
        d = await services.dispatcher.handle(
            Envelope("test", user, inbound, update_key=uuid.uuid4().hex, locale_hint=locale)
        )
        await services.dispatcher.delivered(d.outbox_ids)
        texts += [r.text for r in d.replies]
    return texts


async def count(services: Services, table: type, **where: object) -> int:
    async with services.sessions() as s:
        stmt = select(func.count()).select_from(table)
        for col, value in where.items():
            stmt = stmt.where(getattr(table, col) == value)
        return int((await s.execute(stmt)).scalar_one())


async def test_a_conversation_ends_in_a_ticket_with_prior_consent(services: Services) -> None:
    texts = await converse(services, "u1", PATH)
    assert any("number 1 in the queue" in t for t in texts)
    sid = services.dispatcher.pseudonym("test", "u1")
    async with services.sessions() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.session_id == sid))).scalar_one()
        consent = (await s.execute(select(ConsentRecord).where(ConsentRecord.id == ticket.consent_id))).scalar_one()
    assert ticket.status == "waiting" and ticket.level == "serious" and ticket.priority == 30
    # what describes the person is sealed with the ticket's key; only what the queue sorts on stays plain
    assert (ticket.reasons, ticket.role, ticket.region, ticket.goal) == ("", "", None, "")
    assert ticket.profile is not None and b"grandparent" not in ticket.profile
    box = await services.store.run(lambda s: services.keyring.ticket(s, ticket.id or 0))
    profile = open_profile(box, ticket.id or 0, ticket.profile, ticket)
    assert "observed:violence_ok" in profile.reasons
    assert profile.region is None and profile.role == "grandparent" and profile.goal == "referral"
    assert consent.session_id == sid and consent.consent_version == CONSENT_VERSION
    assert consent.given_at <= ticket.created_at
    assert ticket.created_at.second == 0 and ticket.created_at.microsecond == 0, "kept to the minute"
    summary = box.open_text(ticket.summary, f"ticket:{sid}")
    assert "Approves of or justifies violence" in summary
    assert b"He only talks" not in ticket.story if ticket.story else True


async def test_replies_leave_the_outbox_once_delivered(services: Services) -> None:
    await converse(services, "u2", PATH[:4])
    assert await count(services, OutboxMessage) == 0


async def test_a_redelivered_update_is_handled_once(services: Services) -> None:
    env = Envelope("test", "u3", Inbound.from_text("/start"), update_key="same-id")
    first = await services.dispatcher.handle(env)
    again = await services.dispatcher.handle(env)
    assert again.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies], "unsent replies are sent again"
    await services.dispatcher.delivered(first.outbox_ids)
    third = await services.dispatcher.handle(env)
    assert third.duplicate and third.replies == []
    assert await count(services, InboundSeen) == 1


async def test_state_survives_between_messages_and_is_stored_encrypted(services: Services) -> None:
    await converse(services, "u4", ["/start", "#go", "#role:teacher"])
    state, data = await services.dispatcher.load_state("test", "u4")
    assert state == "reason" and data is not None and data["role"] == "teacher"
    async with services.sessions() as s:
        row = (await s.execute(select(ConversationSession))).scalar_one()
    assert b"teacher" not in row.data and row.id != "u4" and len(row.id) == 64


async def test_forget_leaves_nothing_of_the_session(services: Services) -> None:
    await converse(services, "u5", [*PATH, "Hello, anyone?"])
    await converse(services, "other", PATH[:5])
    sid = services.dispatcher.pseudonym("test", "u5")
    assert await count(services, TicketMessage) == 1
    texts = await converse(services, "u5", ["/forget", "#forget_yes"])
    assert any("erased" in t for t in texts)
    for table in (ConsentRecord, Ticket, OutboxMessage, InboundSeen):
        assert await count(services, table, session_id=sid) == 0, table
    assert await count(services, ConversationSession, id=sid) == 0
    assert await count(services, TicketMessage) == 0 and await count(services, TicketEvent) == 0
    assert await count(services, ConversationSession) == 1, "the other person's session is untouched"


async def test_a_ticket_number_is_never_given_twice_after_an_erasure(services: Services) -> None:
    """SQLite reuses the id of a deleted last row; statistics and the audit log keep erased tickets' numbers."""
    await converse(services, "first", PATH)
    async with services.sessions() as s:
        [erased] = (await s.execute(select(Ticket.id))).scalars().all()
    await converse(services, "first", ["/forget", "#forget_yes"])
    assert await count(services, Ticket) == 0
    texts = await converse(services, "second", PATH)
    assert any("queue" in t or "wachtrij" in t for t in texts), "the next person's request is queued"
    async with services.sessions() as s:
        [number] = (await s.execute(select(Ticket.id))).scalars().all()
        stats = (await s.execute(select(TicketStat.ticket_id))).scalars().all()
    assert number != erased and sorted(stats) == sorted([erased, number])


async def test_stop_withdraws_the_ticket_and_its_consent(services: Services) -> None:
    await converse(services, "u6", [*PATH, "/stop"])
    sid = services.dispatcher.pseudonym("test", "u6")
    async with services.sessions() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.session_id == sid))).scalar_one()
        consent = (await s.execute(select(ConsentRecord))).scalar_one()
    assert ticket.status == "withdrawn" and consent.withdrawn_at is not None


async def test_no_ticket_can_be_opened_without_consent(services: Services) -> None:
    ticket = NewTicket("info", 10, (), "en", "other", None, "advice", "x", None)

    def without_consent(s: Session) -> None:
        Repository(s).open_ticket("nobody", ticket, services.keyring)

    def on_an_old_consent_text(s: Session) -> None:
        repo = Repository(s)
        repo.record_consent("old", "c0-outdated", "en", False)
        repo.open_ticket("old", ticket, services.keyring)

    for unit in (without_consent, on_an_old_consent_text):
        with pytest.raises(ConsentMissing):
            await services.store.run(unit)
    assert await count(services, Ticket) == 0 and await count(services, ConsentRecord) == 0, "rolled back"


async def test_queue_position_follows_priority(services: Services) -> None:
    urgent = [*PATH[:13], "#danger:weapons", "#counsellor", "#goal:advice", "#consent"]
    await converse(services, "a", PATH)
    texts = await converse(services, "b", urgent)
    assert any("number 1 in the queue" in t for t in texts), "an urgent request goes before a serious one"
    texts = await converse(services, "c", PATH)
    assert any("number 3 in the queue" in t for t in texts)


async def test_raw_ids_never_reach_the_database(services: Services) -> None:
    user = f"{uuid.uuid4().int % 10**9}"
    await converse(services, user, PATH)
    async with services.sessions() as s:
        for table in (ConversationSession, InboundSeen, Ticket, ConsentRecord):
            rows = (await s.execute(select(table))).scalars().all()
            assert rows
            for row in rows:
                assert user not in repr(row.model_dump())
