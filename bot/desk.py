"""The counsellor's desk: every dashboard request becomes one unit of work here, with the permission checked
against the row it reads, the audit entry written and the person's messages queued in the same transaction.

The dashboard's routes stay thin; this is the one place that decrypts a ticket for a counsellor, so it is
the one place that decides what a counsellor may see (the consented summary and what the person wrote
after consenting; never the session, the channel or an address).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics
from bot.crypto import DataKey, Keyring
from bot.storage import audit, data_keys
from bot.storage.accounts import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, MAX_FAILURES, Accounts, aware
from bot.storage.desk import Desk, QueueItem, facts_of
from bot.storage.models import Counsellor, Ticket, TicketMessage
from bot.storage.repository import Contention, Repository
from bot.storage.sealed import open_profile, open_session, seal_session
from bot.storage.store import Store
from content.i18n import N_, translator
from flows.messages import Outbound
from handover.credentials import WeakPassword, hash_password, totp_step, verify_password
from handover.lifecycle import Closing, LifecycleError, can_reopen, check_closing
from handover.password_rules import check_new_password, context_words
from handover.permissions import Action, Actor, Role, TicketFacts, allowed, lost_claim
from handover.queue_rules import DEFAULT_TARGETS, WaitColour, wait_colour
from handover.relay_notices import closed_notice, joined_notice, reopened_notice, transferred_notice
from handover.statistics import StatRow

#: how a counsellor's reason is labelled in the ticket's notes (the dashboard's language of its writer)
TRANSFER_REASON = N_("Reason for the transfer")
REVIEW_REASON = N_("Reason to ask for a review")

log = logging.getLogger("baken.desk")

#: seen_at is written at most this often: a page full of live requests need not write on each
_TOUCH_EVERY = dt.timedelta(seconds=60)
MAX_MESSAGE = 4000
EXPLANATIONS = ("adolescence", "family_conflict", "mental_health", "drugs", "other")


class Denied(Exception):
    """The actor may not do this to this ticket (or it does not exist: the two look the same)."""


class Conflict(Exception):
    """The ticket changed meanwhile (someone else claimed it first); the message says what to do."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    counsellor_id: int
    name: str
    alias: str
    role: Role
    languages: frozenset[str]
    ui_locale: str
    csrf: str
    #: signed in with a one-time password: nothing but choosing their own is reachable until they have
    must_change: bool = False
    session_key: str = ""  # the hash of this session's token, to tell it apart from the account's others

    @property
    def actor(self) -> Actor:
        return Actor(self.counsellor_id, self.role, self.languages)

    @property
    def label(self) -> str:
        return f"{self.name}#{self.counsellor_id}"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str | None = None
    error: str | None = None  # "locked" | "wrong" | "expired_password" (a one-time password past its 72 hours)


@dataclass(frozen=True, slots=True)
class SessionView:
    """One of a counsellor's dashboard sessions, as they see it: no address is kept, so none is shown."""

    handle: str
    created_at: dt.datetime
    seen_at: dt.datetime
    current: bool


def session_handle(key: str) -> str:
    """A session's name in the page and its forms: derived from the token's hash, never the hash itself."""
    return hashlib.sha256(f"handle:{key}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ChatLine:
    id: int
    sender: str
    text: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class NoteView:
    author: str
    text: str
    explanations: tuple[str, ...]
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    status: str
    level: str
    reasons: tuple[str, ...]
    locale: str
    role: str
    region: str | None
    goal: str
    summary: str
    story: str | None
    created_at: dt.datetime
    holder: str | None
    holder_id: int | None
    outcome: str | None
    outcome_detail: str | None  # the closing counsellor's words (decrypted), shown on the ticket page
    review_requested: bool
    person_left: bool
    closed_at: dt.datetime | None
    messages: list[ChatLine]
    notes: list[NoteView]


@dataclass(frozen=True, slots=True)
class QueueRowView:
    item: QueueItem
    waited: dt.timedelta
    colour: WaitColour
    holder: str | None
    last_heard: dt.timedelta | None = None  # since the person's last message


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DeskService:
    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        *,
        targets: Mapping[str, dt.timedelta] = DEFAULT_TARGETS,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_relay: Callable[[], None] | None = None,
        password_words: str = "",
    ) -> None:
        self.store = store
        self.password_words = password_words  # BAKEN_PASSWORD_WORDS: the organisation's words, refused in passwords
        self.keys = keyring
        self.targets = targets
        self.clock = clock
        self.on_relay = on_relay  # wakes an in-process deliverer at once; other processes poll

    # ------------------------------------------------------------------ signing in
    def address_key(self, address: str) -> str:
        """Failed sign-ins are counted per address without keeping the address."""
        return self.keys.pseudonym("dashboard-address", address)

    async def login(self, name: str, password: str, code: str, address: str) -> LoginResult:
        name = name.strip()[:64]
        addr = self.address_key(address)
        now = self.clock()

        def unit(s: Session) -> LoginResult:
            accounts = Accounts(s)
            per_account, per_address = accounts.failures(name, addr, now)
            if per_account >= MAX_FAILURES or per_address >= MAX_FAILURES:
                return LoginResult(error="locked")
            c = accounts.by_name(name)
            check = verify_password(c.password_hash if c is not None and c.disabled_at is None else None, password)
            ok = check.ok and c is not None and self._second_factor(accounts, c, code)
            if not ok or c is None or c.id is None:
                accounts.add_failure(name, addr)
                return LoginResult(error="wrong")
            expires = c.password_expires_at
            if expires is not None and now > aware(expires):  # told only after the password and code were right
                return LoginResult(error="expired_password")
            if check.new_hash is not None:
                accounts.set_password_hash(c.id, check.new_hash)
            accounts.rehash_legacy_codes(c.id)  # codes stored before Argon2id, should any remain
            token = secrets.token_urlsafe(32)
            accounts.open_session(token_hash(token), c.id, secrets.token_urlsafe(32))
            audit.append(s, f"{c.name}#{c.id}", "login")
            return LoginResult(token=token)

        return await self.store.run(unit)

    def _second_factor(self, accounts: Accounts, c: Counsellor, code: str) -> bool:
        code = code.strip()
        assert c.id is not None
        if "-" in code:  # a recovery code
            return accounts.use_recovery_code(c.id, code)
        secret = self.keys.open_text(c.totp_secret, f"totp:{c.name}")
        step = totp_step(secret, code, c.totp_last_step, self.clock().timestamp())
        return step is not None and accounts.use_totp_step(c.id, step)

    async def signed_in(self, token: str, *, touch: bool = True) -> SignedIn | None:
        """The session behind a cookie, if still alive: 30 minutes idle, 12 hours at most.

        A live channel checks without `touch`: a page left open is not activity.
        """
        key = token_hash(token)
        now = self.clock()

        def unit(s: Session) -> SignedIn | None:
            accounts = Accounts(s)
            row = accounts.session(key)
            if row is None:
                return None
            if now - aware(row.seen_at) > IDLE_TIMEOUT or now - aware(row.created_at) > ABSOLUTE_TIMEOUT:
                accounts.end_session(key)
                return None
            c = accounts.by_id(row.counsellor_id)
            if c is None or c.disabled_at is not None or c.id is None:
                accounts.end_session(key)
                return None
            expires = c.password_expires_at
            if expires is not None and now > aware(expires):  # the one-time password ran out before a change
                accounts.end_session(key)
                return None
            if touch and now - aware(row.seen_at) > _TOUCH_EVERY:
                accounts.touch_session(key, now)
            return SignedIn(c.id, c.name, c.alias, Role(c.role), frozenset(c.languages.split(",")), c.ui_locale,
                            row.csrf, must_change=expires is not None, session_key=key)

        return await self.store.run(unit)

    async def previous_sign_in(self, me: SignedIn) -> tuple[dt.datetime | None, int]:
        """Shown once after signing in, so a counsellor notices a sign-in that was not theirs: the one before
        this, and the failed attempts on the account since."""
        return await self.store.run(lambda s: Accounts(s).previous_sign_in(me.label, me.name))

    async def logout(self, token: str) -> None:
        await self.store.run(lambda s: Accounts(s).end_session(token_hash(token)))

    # ------------------------------------------------------------------ the counsellor's own account
    async def change_password(self, me: SignedIn, current: str, new: str, again: str, address: str) -> str | None:
        """The counsellor's own new password (ASVS 6.2.2, 6.2.3): the current one first, the new one twice.
        None when changed, else why not: 'locked', 'wrong' (the current password; counts as a failed sign-in),
        'differ', 'same', or a new-password rule ('short', 'long', 'common', 'context'). Every other session
        of the account ends; the change is audited."""
        if new != again:
            return "differ"
        try:
            check_new_password(new, context_words(me.name, me.alias, extra=self.password_words))
        except WeakPassword as weak:
            return weak.reason
        if new == current:
            return "same"
        new_hash = hash_password(new)  # before the transaction: Argon2id takes a while
        addr = self.address_key(address)
        now = self.clock()

        def unit(s: Session) -> str | None:
            accounts = Accounts(s)
            per_account, per_address = accounts.failures(me.name, addr, now)
            if per_account >= MAX_FAILURES or per_address >= MAX_FAILURES:
                return "locked"
            c = accounts.by_id(me.counsellor_id)
            if c is None or c.id is None or not verify_password(c.password_hash, current).ok:
                accounts.add_failure(me.name, addr)
                return "wrong"
            first = c.password_expires_at is not None
            accounts.set_password(c.id, new_hash, None)
            ended = accounts.end_other_sessions(c.id, me.session_key)
            audit.append(s, me.label, "password_changed", None,
                         audit.fields(first_password="yes" if first else "no", sessions_ended=ended))
            return None

        return await self.store.run(unit)

    async def sessions(self, me: SignedIn) -> list[SessionView]:
        """The counsellor's own live dashboard sessions, oldest first (ASVS 7.5.2)."""
        def unit(s: Session) -> list[SessionView]:
            return [SessionView(session_handle(r.id), aware(r.created_at), aware(r.seen_at), r.id == me.session_key)
                    for r in Accounts(s).sessions_of(me.counsellor_id)]

        return await self.store.run(unit)

    async def end_own_session(self, me: SignedIn, handle: str) -> bool:
        """End one of the counsellor's own sessions by its handle; False if none of theirs has it."""
        def unit(s: Session) -> bool:
            accounts = Accounts(s)
            rows = [r for r in accounts.sessions_of(me.counsellor_id) if hmac.compare_digest(session_handle(r.id),
                                                                                          handle)]
            for r in rows:
                accounts.end_session(r.id)
                audit.append(s, me.label, "session_ended", None,
                             audit.fields(own="yes" if r.id == me.session_key else "no"))
            return bool(rows)

        return await self.store.run(unit)

    async def set_ui_locale(self, me: SignedIn, locale: str) -> None:
        def unit(s: Session) -> None:
            c = Accounts(s).by_id(me.counsellor_id)
            if c is not None:
                c.ui_locale = locale
                s.add(c)

        await self.store.run(unit)

    async def colleagues(self) -> list[tuple[int, str, str]]:
        """(id, alias, languages) of active accounts, for the transfer form."""
        def unit(s: Session) -> list[tuple[int, str, str]]:
            return [(c.id or 0, c.alias, c.languages) for c in Accounts(s).active()]

        return await self.store.run(unit)

    # ------------------------------------------------------------------ the queue
    async def queue(self, me: SignedIn, limit: int = 200) -> tuple[list[QueueRowView], int, int]:
        """The top of the queue this counsellor may see (the permission table decides, as for one ticket),
        how many they may see, and how many tickets are open in all."""
        now = self.clock()
        actor = me.actor

        def unit(s: Session) -> tuple[list[QueueItem], int, int, dict[int, str]]:
            items, visible, total = Desk(s).queue(lambda f: allowed(Action.VIEW_TICKET, actor, f), limit)
            names = {c.id or 0: c.alias for c in Accounts(s).all()} if items else {}
            return self._open_profiles(s, items), visible, total, names

        items, visible, total, names = await self.store.run(unit)
        rows = []
        for item in items:
            waited = now - item.created_at
            colour = WaitColour.OK if item.answered else wait_colour(item.level, waited, self.targets)
            heard = now - item.last_person_at if item.last_person_at is not None else None
            rows.append(QueueRowView(item, waited, colour, names.get(item.holder_id or -1), heard))
        return rows, visible, total

    def _open_profiles(self, s: Session, items: list[QueueItem]) -> list[QueueItem]:
        """Each row's reasons, role and region, opened with its ticket's key (one query for all the keys)."""
        sealed = [i for i in items if i.profile is not None]
        data_keys.preload(s, self.keys, (data_keys.ticket_key_id(i.id) for i in sealed))
        opened = []
        for item in items:
            if item.profile is not None:
                p = open_profile(self.keys.ticket(s, item.id), item.id, item.profile, item)
                item = replace(item, reasons=p.reasons, role=p.role, region=p.region, profile=None)
            opened.append(item)
        return opened

    async def queue_mark(self) -> tuple[int, str]:
        return await self.store.run(lambda s: Desk(s).queue_mark())

    # ------------------------------------------------------------------ one ticket
    async def facts(self, ticket_id: int) -> TicketFacts | None:
        """What permissions look at of a ticket; None when there is no such ticket."""
        def unit(s: Session) -> TicketFacts | None:
            ticket = Desk(s).ticket(ticket_id)
            return facts_of(ticket) if ticket is not None else None

        return await self.store.run(unit)

    def _load(self, s: Session, me: SignedIn, ticket_id: int, action: Action) -> Ticket:
        ticket = Desk(s).ticket(ticket_id)
        if ticket is None or not allowed(action, me.actor, facts_of(ticket)):
            if ticket is not None and action is Action.CLAIM and lost_claim(me.actor, facts_of(ticket)):
                raise Conflict("a colleague claimed it first")
            raise Denied(action.value)
        return ticket

    def _open_message(self, box: DataKey, ticket: Ticket, m: TicketMessage) -> ChatLine:
        text = box.open_text(m.body, f"ticket:{ticket.session_id}")
        return ChatLine(m.id or 0, m.sender, text, aware(m.created_at))

    async def view(self, me: SignedIn, ticket_id: int) -> TicketView:
        def unit(s: Session) -> TicketView:
            ticket = self._load(s, me, ticket_id, Action.VIEW_TICKET)
            desk = Desk(s)
            sid = ticket.session_id
            names = {c.id or 0: c.alias for c in Accounts(s).all()}
            audit.append(s, me.label, "view", ticket_id)
            box = self.keys.ticket(s, ticket_id)
            profile = open_profile(box, ticket_id, ticket.profile, ticket)
            return TicketView(
                id=ticket_id, status=ticket.status, level=ticket.level,
                reasons=profile.reasons, locale=ticket.locale, role=profile.role,
                region=profile.region, goal=profile.goal, summary=box.open_text(ticket.summary, f"ticket:{sid}"),
                story=box.open_text(ticket.story, f"ticket:{sid}") if ticket.story else None,
                created_at=aware(ticket.created_at), holder=names.get(ticket.holder_id or -1),
                holder_id=ticket.holder_id, outcome=ticket.outcome,
                outcome_detail=(box.open_text(ticket.outcome_detail, f"outcome:{ticket_id}")
                                if ticket.outcome_detail else None),
                review_requested=ticket.review_requested,
                person_left=ticket.person_left, closed_at=aware(ticket.closed_at) if ticket.closed_at else None,
                messages=[self._open_message(box, ticket, m) for m in desk.messages(ticket_id)],
                notes=[NoteView(names.get(n.counsellor_id, "?"), box.open_text(n.body, f"note:{ticket_id}"),
                                tuple(filter(None, n.explanations.split(","))), aware(n.created_at))
                       for n in desk.notes(ticket_id)],
            )

        return await self.store.run(unit)

    async def messages_after(self, me: SignedIn, ticket_id: int, after: int) -> tuple[str, list[ChatLine]]:
        """For the live channel: the ticket's status and the lines after `after`, checked like a page read."""
        def unit(s: Session) -> tuple[str, list[ChatLine]]:
            ticket = self._load(s, me, ticket_id, Action.VIEW_TICKET)
            lines = Desk(s).messages(ticket_id, after)
            box = self.keys.ticket(s, ticket_id) if lines else None
            return ticket.status, [self._open_message(box, ticket, m) for m in lines if box is not None]

        return await self.store.run(unit)

    async def _change(self, me: SignedIn, ticket_id: int, action: Action,
                      fn: Callable[[Session, Desk, Ticket], str | None]) -> None:
        """Check, change, audit and tell the person, all in one transaction."""
        def unit(s: Session) -> bool:
            ticket = self._load(s, me, ticket_id, action)
            detail = fn(s, Desk(s), ticket)
            audit.append(s, me.label, action.value, ticket_id, detail or "")
            return True

        await self.store.run(unit)
        if self.on_relay is not None:
            self.on_relay()

    def _reason(self, s: Session, desk: Desk, me: SignedIn, ticket_id: int, label: str, reason: str) -> None:
        """A counsellor's reason for a transfer or a review: a note on the ticket, sealed with the ticket's own
        key like every note (so it is read with them and erased with the ticket), never free text in the audit
        log."""
        text = reason.strip()[:500]
        if text:
            body = f"{translator(me.ui_locale)(label)}: {text}"
            sealed = self.keys.ticket(s, ticket_id).seal_text(body, f"note:{ticket_id}")
            desk.add_note(ticket_id, me.counsellor_id, sealed, [])

    def _tell(self, s: Session, ticket: Ticket, *messages: Outbound) -> None:
        """Queue messages for the person on the channel they came from (any process delivers them)."""
        sid = ticket.session_id
        channel = Desk(s).channel_of(sid)
        if channel is None:
            return  # the person erased their session: nobody to tell
        payload = self.keys.conversation(s, sid).seal_json([m.to_json() for m in messages], f"outbox:{sid}")
        Desk(s).relay(sid, channel, payload)

    def _set_flow(self, s: Session, ticket: Ticket, *, waiting: bool) -> None:
        """Keep the person's conversation in step: out of the relay when closed, back into it on reopen."""
        sid = ticket.session_id
        repo = Repository(s)
        row = repo.lock_session(sid)
        if row is None:
            return
        box = self.keys.conversation(s, sid)
        current, data = open_session(box, sid, row)
        data["ticket_open"] = waiting
        state = "waiting" if waiting else ("done" if current == "waiting" else current)
        repo.save_session(sid, channel="", data=seal_session(box, sid, state, data), address=None, new=False)

    async def claim(self, me: SignedIn, ticket_id: int) -> None:
        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            if not desk.claim(ticket_id, me.counsellor_id, supervisor=me.role is Role.SUPERVISOR):
                raise Conflict("someone else claimed this ticket first")
            self._tell(s, ticket, joined_notice(translator(ticket.locale), me.alias))
            return None

        await self._change(me, ticket_id, Action.CLAIM, fn)

    async def take_next(self, me: SignedIn) -> int | None:
        """Claim the first ticket of the queue this counsellor may claim; None when there is none.

        Two counsellors pressing at once get two different tickets: the pick is locked with SKIP LOCKED on
        PostgreSQL (see Desk.next_claimable), and the claim is the same conditional UPDATE as a click.
        """
        actor = me.actor

        def unit(s: Session) -> int | None:
            desk = Desk(s)
            ticket_id = desk.next_claimable(lambda f: allowed(Action.CLAIM, actor, f), me.counsellor_id,
                                            supervisor=me.role is Role.SUPERVISOR)
            if ticket_id is None:
                return None
            ticket = self._load(s, me, ticket_id, Action.CLAIM)
            if not desk.claim(ticket_id, me.counsellor_id, supervisor=me.role is Role.SUPERVISOR):
                raise Contention("the picked ticket was claimed meanwhile")  # rolled back and picked again
            self._tell(s, ticket, joined_notice(translator(ticket.locale), me.alias))
            audit.append(s, me.label, Action.CLAIM.value, ticket_id, audit.fields(by="take_next"))
            return ticket_id

        taken = await self.store.run(unit)
        if taken is not None and self.on_relay is not None:
            self.on_relay()
        return taken

    async def release(self, me: SignedIn, ticket_id: int) -> None:
        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            if not desk.release(ticket_id, me.counsellor_id):
                raise Conflict("the ticket changed meanwhile")
            return None

        await self._change(me, ticket_id, Action.RELEASE, fn)

    async def transfer(self, me: SignedIn, ticket_id: int, *, to: int | None, locale: str | None, reason: str) -> None:
        if (to is None) == (locale is None):
            raise LifecycleError("transfer to one colleague or to one language")

        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            if to is not None and (Accounts(s).by_id(to) is None or to == me.counsellor_id):
                raise LifecycleError("no such colleague")
            if not desk.transfer(ticket_id, me.counsellor_id, to=to, locale=locale):
                raise Conflict("the ticket changed meanwhile")
            self._tell(s, ticket, transferred_notice(translator(ticket.locale)))
            self._reason(s, desk, me, ticket_id, TRANSFER_REASON, reason)
            return audit.fields(to=f"counsellor#{to}" if to is not None else f"language:{locale}")

        await self._change(me, ticket_id, Action.TRANSFER, fn)

    async def reply(self, me: SignedIn, ticket_id: int, text: str) -> None:
        text = text.strip()
        if not text:
            raise LifecycleError("an empty message is not sent")
        if len(text) > MAX_MESSAGE:
            raise LifecycleError(f"a message has at most {MAX_MESSAGE} characters")

        def unit(s: Session) -> tuple[str | None, str, float | None]:
            ticket = self._load(s, me, ticket_id, Action.REPLY)
            sid = ticket.session_id
            first = Desk(s).add_counsellor_message(
                ticket_id, self.keys.ticket(s, ticket_id).seal_text(text, f"ticket:{sid}"))
            self._tell(s, ticket, Outbound(f"{me.alias}: {text}"))
            waited = (aware(first) - aware(ticket.created_at)).total_seconds() if first is not None else None
            return Desk(s).channel_of(sid), ticket.level, waited

        channel, level, waited = await self.store.run(unit)
        metrics.count_relay("to_person", channel)
        if waited is not None:
            metrics.observe_first_answer(level, waited)
        if self.on_relay is not None:
            self.on_relay()

    async def note(self, me: SignedIn, ticket_id: int, text: str, explanations: list[str]) -> None:
        text = text.strip()
        chosen = [e for e in explanations if e in EXPLANATIONS]
        if not text and not chosen:
            raise LifecycleError("an empty note is not kept")

        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            body = self.keys.ticket(s, ticket_id).seal_text(text[:4000], f"note:{ticket_id}")
            desk.add_note(ticket_id, me.counsellor_id, body, chosen)
            return None

        await self._change(me, ticket_id, Action.NOTE, fn)

    async def ask_review(self, me: SignedIn, ticket_id: int, reason: str) -> None:
        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            if not desk.ask_review(ticket_id, me.counsellor_id):
                raise Conflict("the ticket changed meanwhile")
            self._reason(s, desk, me, ticket_id, REVIEW_REASON, reason)
            return None

        await self._change(me, ticket_id, Action.ASK_REVIEW, fn)

    async def close(self, me: SignedIn, ticket_id: int, closing: Closing) -> None:
        check_closing(closing, by_supervisor=me.role is Role.SUPERVISOR)

        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            box = self.keys.ticket(s, ticket_id)
            detail = box.seal_text(closing.detail, f"outcome:{ticket_id}") if closing.detail else None
            holder = None if me.role is Role.SUPERVISOR else me.counsellor_id
            if not desk.close(ticket_id, holder, closing.outcome.value, detail):
                raise Conflict("the ticket changed meanwhile")
            self._tell(s, ticket, closed_notice(translator(ticket.locale), closing.outcome))
            self._set_flow(s, ticket, waiting=False)
            # the closing words stay with the ticket, encrypted, and show on its page (outcome_detail)
            return audit.fields(outcome=closing.outcome.value)

        await self._change(me, ticket_id, Action.CLOSE, fn)

    async def reopen(self, me: SignedIn, ticket_id: int) -> None:
        now = self.clock()

        def fn(s: Session, desk: Desk, ticket: Ticket) -> str | None:
            closed_at = aware(ticket.closed_at) if ticket.closed_at else None
            if not can_reopen(ticket.status, closed_at, now) or not desk.reopen(ticket_id, now):
                raise LifecycleError("only a ticket closed in the last seven days can be reopened")
            self._tell(s, ticket, reopened_notice(translator(ticket.locale)))
            self._set_flow(s, ticket, waiting=True)
            return None

        await self._change(me, ticket_id, Action.REOPEN, fn)

    # ------------------------------------------------------------------ supervisors
    async def audit_log(self, me: SignedIn, limit: int = 300) -> tuple[list[Any], audit.ChainCheck]:
        if not allowed(Action.VIEW_AUDIT, me.actor):
            raise Denied(Action.VIEW_AUDIT.value)

        def unit(s: Session) -> tuple[list[Any], audit.ChainCheck]:
            return audit.recent(s, limit), audit.verify_all(s)

        return await self.store.run(unit)

    async def stat_rows(self, since: dt.datetime) -> list[StatRow]:
        def unit(s: Session) -> list[StatRow]:
            return [StatRow(aware(r.created_at), r.level, r.locale,
                            aware(r.first_answer_at) if r.first_answer_at else None,
                            aware(r.closed_at) if r.closed_at else None, r.outcome)
                    for r in Desk(s).stats(since)]

        return await self.store.run(unit)

    async def survey(self, since: dt.datetime) -> list[tuple[str, str, int]]:
        return await self.store.run(lambda s: Desk(s).survey(since))

    async def canned(self, locale: str | None = None) -> list[Any]:
        return await self.store.run(lambda s: Desk(s).canned(locale))

    async def save_canned(self, me: SignedIn, reply_id: int | None, locale: str, title: str, body: str) -> None:
        if not allowed(Action.EDIT_CANNED, me.actor):
            raise Denied(Action.EDIT_CANNED.value)
        if not title.strip() or not body.strip():
            raise LifecycleError("a canned reply needs a title and a text")

        def unit(s: Session) -> None:
            Desk(s).save_canned(reply_id, locale, title.strip()[:80], body.strip()[:2000])
            audit.append(s, me.label, "edit_canned", None, audit.fields(locale=locale, reply=reply_id or "new"))

        await self.store.run(unit)

    async def delete_canned(self, me: SignedIn, reply_id: int) -> None:
        if not allowed(Action.EDIT_CANNED, me.actor):
            raise Denied(Action.EDIT_CANNED.value)

        def unit(s: Session) -> None:
            Desk(s).delete_canned(reply_id)
            audit.append(s, me.label, "delete_canned", None, audit.fields(reply=reply_id))

        await self.store.run(unit)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
