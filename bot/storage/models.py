"""The tables. Free text and channel addresses are stored encrypted; no names, usernames or raw ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utcminute() -> dt.datetime:
    """Now, to the minute: for times of what a person did, where the seconds would only help to identify."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def sqlite_time(moment: dt.datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (its DATETIME text), for statements run on the driver itself."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class ConversationSession(SQLModel, table=True):
    """One person on one channel, keyed by a keyed pseudonym."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=64)  # HMAC-SHA256 hex
    channel: str = Field(max_length=16, index=True)
    state: str = Field(max_length=32)
    locale: str = Field(max_length=5)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted JSON
    address: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # encrypted
    created_at: dt.datetime = Field(default_factory=utcminute)
    updated_at: dt.datetime = Field(default_factory=utcminute, index=True)


class RequestMark(SQLModel, table=True):
    """One new counsellor request, kept 48 hours to limit how many one person makes (see bot.request_limit).

    `key` is a keyed hash of the session's pseudonym for this purpose only: it matches no other column, so the
    mark says nothing about which conversation it came from; `at` is rounded to the minute.
    """

    __tablename__ = "request_marks"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    at: dt.datetime = Field(index=True)


class InboundSeen(SQLModel, table=True):
    """Channel update ids already handled, so a re-delivery is a no-op."""

    __tablename__ = "inbound_seen"
    __table_args__ = (UniqueConstraint("channel", "key", name="uq_inbound_channel_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    key: str = Field(max_length=64)
    session_id: str = Field(max_length=64, index=True)
    created_at: dt.datetime = Field(default_factory=utcminute, index=True)


class OutboxMessage(SQLModel, table=True):
    """The replies of one step, written in the step's transaction; deleted once sent."""

    __tablename__ = "outbox"
    #: what deliverers look for (relayed and web chat rows not sent yet), in one partial index: a row written
    #: already sent (a reply in a webhook answer, nearly every Telegram step) costs no index entry but the
    #: session's; separate indexes on origin and sent_at cost more than a third of a stored step's CPU
    __table_args__ = (
        Index("ix_outbox_unsent", "channel", "origin", "id",
              sqlite_where=text("sent_at IS NULL"), postgresql_where=text("sent_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=16)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted list of Outbound JSON
    #: "step": the replies of the person's own message, sent by the channel that received it;
    #: "relay": written by the counsellor side, picked up by the channel's relay deliverer (any process)
    origin: str = Field(default="step", max_length=8)
    #: the channel's id of the update whose step wrote this row: its re-delivery sends this row again, never
    #: another update's (Telegram's update id: a number with no link to the person beyond this row)
    update_key: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcminute)
    #: set when the row was written to go out inside the webhook's answer: kept (sealed) until Telegram
    #: moves on to the chat's next update, so a re-delivery of its own update (the answer never arrived)
    #: sends it again
    sent_at: dt.datetime | None = Field(default=None)
    #: of a step of several messages, how many went out by request already: a re-delivery (the webhook's
    #: answer never arrived, or the process died mid-step) sends only the rest
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ConsentRecord(SQLModel, table=True):
    """An explicit, informed yes: when, to which text version, in which language, sharing what."""

    __tablename__ = "consents"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=64, index=True)
    consent_version: str = Field(max_length=32)
    locale: str = Field(max_length=5)
    shares_story: bool = False
    given_at: dt.datetime = Field(default_factory=utcminute)
    withdrawn_at: dt.datetime | None = None


class Ticket(SQLModel, table=True):
    """A request for a counsellor; what a counsellor sees is here, never the person's identity."""

    __tablename__ = "tickets"
    __table_args__ = (
        # the queue walks this index in order and decides visibility from it alone (a covering index)
        Index("ix_tickets_queue", text("priority DESC"), "created_at", "id", "status", "locale", "holder_id",
              "transfer_to", "transfer_locale"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=64, index=True)
    consent_id: int = Field(foreign_key="consents.id")
    status: str = Field(max_length=16, index=True)
    level: str = Field(max_length=16)
    priority: int = Field(index=True)
    reasons: str = Field(default="")  # comma-separated answer ids (no free text)
    locale: str = Field(max_length=5)
    role: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)
    goal: str = Field(max_length=16)
    summary: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    story: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # encrypted
    created_at: dt.datetime = Field(default_factory=utcminute, index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None
    holder_id: int | None = Field(default=None, index=True)  # the counsellor who claimed it
    transfer_to: int | None = None  # a colleague it was handed to
    transfer_locale: str | None = Field(default=None, max_length=5)  # or a language it was handed to
    outcome: str | None = Field(default=None, max_length=24)
    outcome_detail: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # encrypted
    #: encrypted JSON {reasons, role, region, goal}; the plain columns above are empty for rows written since
    profile: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    review_requested: bool = False
    first_answer_at: dt.datetime | None = None
    person_left: bool = False  # the person ended the conversation
    last_person_at: dt.datetime | None = None


class TicketMessage(SQLModel, table=True):
    """The chat between a person and a counsellor, relayed through the bot."""

    __tablename__ = "ticket_messages"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    sender: str = Field(max_length=16)  # person | counsellor
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    created_at: dt.datetime = Field(default_factory=utcminute)


class TicketEvent(SQLModel, table=True):
    """Audit log of every ticket change: who and when."""

    __tablename__ = "ticket_events"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    at: dt.datetime = Field(default_factory=utcminute)


class MessageTrail(SQLModel, table=True):
    """Ids of the messages shown in a session's chat, so /forget can also clear them off a shared screen.

    A message id is meaningless outside its chat (and the chat id is stored encrypted with the session);
    the rows go with the session.
    """

    __tablename__ = "message_trail"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(max_length=64, index=True)
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcminute)


class KeyFingerprint(SQLModel, table=True):
    """Which server key this database belongs to (a one-way check value, never the key)."""

    __tablename__ = "key_fingerprint"

    id: int = Field(default=1, primary_key=True)
    fingerprint: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    #: the master key version the fingerprint names; `baken keys rotate` counts it up
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    #: every row written before conversation keys has been re-sealed (bot.storage.adoption)
    adopted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class DataKeyRow(SQLModel, table=True):
    """A conversation's or a ticket's data key, wrapped by the master key. Deleting the row erases for good
    every ciphertext sealed with it, wherever a copy lies."""

    __tablename__ = "data_keys"

    id: str = Field(primary_key=True, max_length=80)  # session:<pseudonym> | ticket:<id> | server:<purpose>
    version: int  # the data key's version, written in the header of each of its ciphertexts
    master_version: int  # the master key version that wraps it
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcminute)


class WebchatCode(SQLModel, table=True):
    """A web chat's reference code to continue on another device: kept only as a keyed hash, used once.

    The row holds the tab's session token encrypted under a context naming the code's hash, so the database
    alone neither shows the codes nor hands out the tokens.
    """

    __tablename__ = "webchat_codes"

    code_hash: str = Field(primary_key=True, max_length=64)  # HMAC-SHA256 hex of the normalised code
    session_id: str = Field(max_length=64, index=True)
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted session token
    created_at: dt.datetime = Field(default_factory=utcminute, index=True)


class Counsellor(SQLModel, table=True):
    """A dashboard account: a login name, a shown alias, a role and languages; no other personal data."""

    __tablename__ = "counsellors"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    alias: str = Field(max_length=64)  # what the person is told: a first name or a chosen alias
    role: str = Field(max_length=16)
    languages: str = Field(max_length=32)  # comma-separated locales
    ui_locale: str = Field(default="en", max_length=5)
    password_hash: str = Field(max_length=256)
    totp_secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    totp_last_step: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: dt.datetime = Field(default_factory=utcnow)
    disabled_at: dt.datetime | None = None
    #: set while the password is a one-time one (from `add` or `reset-password`): it works until then, and only
    #: to choose the counsellor's own password; None once they have
    password_expires_at: dt.datetime | None = None


class RecoveryCode(SQLModel, table=True):
    """One-time codes for a lost phone, stored as salted Argon2id hashes only."""

    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    counsellor_id: int = Field(foreign_key="counsellors.id", index=True)
    code_hash: str = Field(max_length=128)
    used_at: dt.datetime | None = None


class DashboardSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds a random token, the table only its hash."""

    __tablename__ = "dashboard_sessions"

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie token
    counsellor_id: int = Field(foreign_key="counsellors.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    seen_at: dt.datetime = Field(default_factory=utcnow)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, to slow guessing per account and per address (the address keyed-hashed)."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class AuditEntry(SQLModel, table=True):
    """Who did what to which ticket, when and why; each row hashes the one before it. Never message text."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", max_length=2000)
    prev: str = Field(max_length=64)
    digest: str = Field(max_length=64)


class TicketNote(SQLModel, table=True):
    """A counsellor's internal note; the person never sees it."""

    __tablename__ = "ticket_notes"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    counsellor_id: int
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    explanations: str = Field(default="", max_length=128)  # other explanations considered, comma-separated
    created_at: dt.datetime = Field(default_factory=utcminute)


class CannedReply(SQLModel, table=True):
    """A prepared answer per language, kept by supervisors."""

    __tablename__ = "canned_replies"

    id: int | None = Field(default=None, primary_key=True)
    locale: str = Field(max_length=5, index=True)
    title: str = Field(max_length=80)
    body: str = Field(max_length=2000)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class TicketStat(SQLModel, table=True):
    """What statistics keep of a ticket: no text, no pseudonym; outlives the ticket's retention."""

    __tablename__ = "ticket_stats"

    ticket_id: int = Field(primary_key=True)
    created_at: dt.datetime = Field(index=True)
    level: str = Field(max_length=16)
    locale: str = Field(max_length=5)
    first_answer_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    outcome: str | None = Field(default=None, max_length=24)


class SurveyAnswer(SQLModel, table=True):
    """The anonymous two questions after a close; linked to nothing."""

    __tablename__ = "survey_answers"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=16)  # helpful | come_back
    answer: str = Field(max_length=8)  # yes | no | unsure
    at: dt.datetime = Field(default_factory=utcminute, index=True)


class PeriodicRun(SQLModel, table=True):
    """Which process runs a periodic job (the purge) in which period: the first to insert the row does.

    No personal data: a job name, a period number and a time.
    """

    __tablename__ = "periodic_runs"

    job: str = Field(primary_key=True, max_length=32)
    period: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    started_at: dt.datetime = Field(default_factory=utcnow)
