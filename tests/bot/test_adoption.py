"""Rows written before conversation keys (one storage key, plain state and profile) are re-sealed at the next
start: still readable, then erasable like any other, and no longer open with the old single key."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from bot.app import build_services
from bot.crypto import key_version, legacy_storage_key
from bot.desk import DeskService
from bot.dispatch import Envelope
from bot.settings import Settings
from bot.storage.models import (
    ConversationSession,
    DataKeyRow,
    KeyFingerprint,
    OutboxMessage,
    Ticket,
    TicketMessage,
)
from flows.messages import Inbound
from tests.bot.desk_support import consented_ticket, signed_in
from tests.server_keys import TEST_KEY


def old_seal(secret: bytes, plain: bytes, context: str) -> bytes:
    """The format before data keys: nonce and AES-GCM under one key derived from the secret, no header."""
    nonce = os.urandom(12)
    return nonce + AESGCM(legacy_storage_key(secret)).encrypt(nonce, plain, context.encode())


async def test_rows_of_the_older_format_are_resealed_at_the_next_start(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key=TEST_KEY)
    secret = settings.secret
    services = await build_services(settings)
    try:
        ticket_id = await consented_ticket(services, "old-timer", summary="Role: parent (old format)")
        sid = services.keyring.pseudonym("console", "old-timer")
        anna = await signed_in(services, "anna", languages="nl,fr")

        def make_it_old(s: Session) -> None:
            """Rewrite the rows as the version before conversation keys stored them."""
            s.execute(update(ConversationSession).where(ConversationSession.id == sid).values(  # type: ignore[arg-type]
                state="waiting", locale="nl",
                data=old_seal(secret, b'{"locale":"nl","ticket_open":true}', f"session:{sid}"),
                address=old_seal(secret, b"chat-4711", f"address:{sid}")))
            s.execute(update(Ticket).where(Ticket.id == ticket_id).values(  # type: ignore[arg-type]
                reasons="observed:withdrawal", role="parent", region="flanders", goal="advice", profile=None,
                summary=old_seal(secret, b"Role: parent (old format)", f"ticket:{sid}")))
            s.add(TicketMessage(ticket_id=ticket_id, sender="person",
                                body=old_seal(secret, b"an old relayed message", f"ticket:{sid}")))
            s.add(OutboxMessage(session_id=sid, channel="console", origin="relay",
                                payload=old_seal(secret, b'[{"text":"old reply"}]', f"outbox:{sid}")))
            s.execute(delete(DataKeyRow).where(DataKeyRow.id.in_(  # type: ignore[attr-defined]
                [f"session:{sid}", f"ticket:{ticket_id}"])))
            s.execute(update(KeyFingerprint).values(adopted=False))

        await services.store.run(make_it_old)
    finally:
        await services.close()

    services = await build_services(settings)  # the start re-seals
    try:
        state, data = await services.dispatcher.load_state("console", "old-timer")
        assert state == "waiting" and data == {"locale": "nl", "ticket_open": True}
        view = await DeskService(services.store, services.keyring).view(anna, ticket_id)
        assert view.summary == "Role: parent (old format)" and view.role == "parent" and view.region == "flanders"
        assert [m.text for m in view.messages] == ["an old relayed message"]

        async with services.db.connect() as conn:
            session = (await conn.execute(text("SELECT state, locale, data, address FROM sessions"))).one()
            ticket = (await conn.execute(text("SELECT reasons, role, region, goal, summary FROM tickets"))).one()
            blobs = [(session[2], f"session:{sid}"), (session[3], f"address:{sid}"), (ticket[4], f"ticket:{sid}")]
            blobs += [(r[0], f"ticket:{sid}") for r in (await conn.execute(text("SELECT body FROM ticket_messages")))]
            blobs += [(r[0], f"outbox:{sid}") for r in (await conn.execute(text("SELECT payload FROM outbox")))]
            adopted = (await conn.execute(text("SELECT adopted FROM key_fingerprint"))).scalar()
        assert tuple(session[:2]) == ("", "") and tuple(ticket[:4]) == ("", "", None, ""), "no plain profile left"
        assert adopted
        old = AESGCM(legacy_storage_key(secret))
        assert len(blobs) == 5
        for blob, context in blobs:
            assert key_version(bytes(blob)) == 1, "every ciphertext carries its key version now"
            with pytest.raises(InvalidTag):  # the old single key opens none of them
                old.decrypt(bytes(blob)[:12], bytes(blob)[12:], context.encode())
        assert services.keyring.legacy is None, "the old single key is not kept in memory"

        # and now /forget reaches the old conversation like any other
        for step in ("/forget", "#forget_yes"):
            inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
            await services.dispatcher.handle(Envelope("console", "old-timer", inbound, update_key=uuid.uuid4().hex))
        async with services.db.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM data_keys WHERE id NOT LIKE 'server:%'"))).scalar()
        assert left == 0
    finally:
        await services.close()
