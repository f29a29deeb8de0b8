"""Rows written before conversation keys, re-sealed once under them: the first start with the key does it.

Before, every ciphertext was sealed with one storage key derived from the server secret, and the session's
state and language and the ticket's reasons, role, region and goal were plain. The migration cannot do this
(it has no key), so the first start opens each old ciphertext with the old key and seals it again with its
conversation's or ticket's own key, moves the plain fields into the sealed ones and empties the columns,
all in one transaction, then records `key_fingerprint.adopted`. From then on the old key opens nothing.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.crypto import Keyring
from bot.storage.data_keys import NOTICES, outbox_key
from bot.storage.models import (
    ConversationSession,
    Counsellor,
    KeyFingerprint,
    OutboxMessage,
    Ticket,
    TicketMessage,
    TicketNote,
    WebchatCode,
)
from bot.storage.repository import StoredSession
from bot.storage.sealed import open_profile, open_session, seal_profile, seal_session


def pending(s: Session) -> bool:
    return not s.execute(select(col(KeyFingerprint.adopted)).where(col(KeyFingerprint.id) == 1)).scalar()


def adopt(s: Session, keys: Keyring) -> dict[str, int]:
    """Re-seal every row of the older format; returns how many rows of each kind were re-sealed."""
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        s.execute(select(KeyFingerprint).where(col(KeyFingerprint.id) == 1).with_for_update())
    if not pending(s):
        return {}
    counts = {"sessions": 0, "outbox": 0, "tickets": 0, "messages": 0, "notes": 0, "codes": 0, "accounts": 0}
    for row in s.execute(select(ConversationSession)).scalars():
        box = keys.conversation(s, row.id)
        state, data = open_session(box, row.id, StoredSession(row.state, row.data, row.address))
        row.data = seal_session(box, row.id, state, data)
        if row.address is not None:
            row.address = box.seal_text(box.open_text(row.address, f"address:{row.id}"), f"address:{row.id}")
        row.state, row.locale = "", ""
        counts["sessions"] += 1
    for out in s.execute(select(OutboxMessage)).scalars():
        box = outbox_key(s, keys, out.session_id)
        context = f"outbox:{out.session_id if out.session_id != NOTICES else NOTICES}"
        out.payload = box.encrypt(box.decrypt(out.payload, context), context)
        counts["outbox"] += 1
    for ticket in s.execute(select(Ticket)).scalars():
        tid, sid = ticket.id or 0, ticket.session_id
        box = keys.ticket(s, tid)
        ticket.summary = box.encrypt(box.decrypt(ticket.summary, f"ticket:{sid}"), f"ticket:{sid}")
        if ticket.story is not None:
            ticket.story = box.encrypt(box.decrypt(ticket.story, f"ticket:{sid}"), f"ticket:{sid}")
        if ticket.outcome_detail is not None:
            ticket.outcome_detail = box.encrypt(box.decrypt(ticket.outcome_detail, f"outcome:{tid}"),
                                                f"outcome:{tid}")
        ticket.profile = seal_profile(box, tid, open_profile(box, tid, ticket.profile, ticket))
        ticket.reasons, ticket.role, ticket.region, ticket.goal = "", "", None, ""
        counts["tickets"] += 1
        for message in s.execute(select(TicketMessage).where(col(TicketMessage.ticket_id) == tid)).scalars():
            message.body = box.encrypt(box.decrypt(message.body, f"ticket:{sid}"), f"ticket:{sid}")
            counts["messages"] += 1
        for note in s.execute(select(TicketNote).where(col(TicketNote.ticket_id) == tid)).scalars():
            note.body = box.encrypt(box.decrypt(note.body, f"note:{tid}"), f"note:{tid}")
            counts["notes"] += 1
    for code in s.execute(select(WebchatCode)).scalars():
        box = keys.conversation(s, code.session_id)
        context = f"webcode:{code.code_hash}"
        code.token = box.encrypt(box.decrypt(code.token, context), context)
        counts["codes"] += 1
    for account in s.execute(select(Counsellor)).scalars():
        context = f"totp:{account.name}"
        account.totp_secret = keys.server.encrypt(keys.server.decrypt(account.totp_secret, context), context)
        counts["accounts"] += 1
    s.flush()
    s.execute(update(KeyFingerprint).where(col(KeyFingerprint.id) == 1).values(adopted=True))
    return counts
