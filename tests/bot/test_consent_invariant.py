"""Property: whatever path a person takes, no ticket exists without prior consent to the current text."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import build_services
from bot.dispatch import Envelope
from bot.settings import Settings
from bot.storage.models import ConsentRecord, Ticket
from flows.messages import Inbound
from handover.consent import CONSENT_VERSION
from tests.server_keys import TEST_KEY

COMMANDS = ["/restart", "/stop", "/back", "/urgent", "/language", "/forget", "/help", "/start parent"]
TEXTS = ["1800", "my son changed", "ok", "🙂", "x" * 300]
_counter = itertools.count()

# one move: press the n-th button offered, type a command, or type a text
moves = st.one_of(
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=12)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("text"), st.sampled_from(TEXTS)),
    # steer towards the handover so that many walks get as far as the consent question
    st.tuples(st.just("advance"), st.just(0)),
    st.tuples(st.just("advance"), st.just(0)),
    st.tuples(st.just("advance"), st.just(0)),
)
FORWARD = ["consent", "goal:", "counsellor", "danger:", "departure:", "duration:", "age:", "reason:", "role:", "go"]


async def _walk(db_url: str, tmp: Path, paths: list[list[tuple[str, object]]]) -> None:
    services = await build_services(Settings(data_dir=tmp, database_url=db_url, secret_key=TEST_KEY))
    try:
        for path in paths:
            user = f"walker-{next(_counter)}"
            buttons: tuple = ()
            for kind, value in [("command", "/start"), *path]:
                if kind == "advance":
                    wanted = [b for prefix in FORWARD for b in buttons if b.data.startswith(prefix)]
                    if not wanted:
                        continue
                    inbound = Inbound.choice(wanted[0].data)
                elif kind == "press":
                    if not buttons:
                        continue
                    inbound = Inbound.choice(buttons[int(value) % len(buttons)].data)  # type: ignore[call-overload]
                elif kind == "command":
                    inbound = Inbound.from_text(str(value))
                else:
                    inbound = Inbound.from_text(str(value))
                d = await services.dispatcher.handle(Envelope("walk", user, inbound, locale_hint="nl"))
                await services.dispatcher.delivered(d.outbox_ids)
                with_buttons = [r for r in d.replies if r.buttons]
                buttons = with_buttons[-1].buttons if with_buttons else ()
        async with services.sessions() as s:
            tickets = (await s.execute(select(Ticket))).scalars().all()
            event(f"tickets: {min(len(tickets), 3)}")
            for ticket in tickets:
                consent = (
                    await s.execute(select(ConsentRecord).where(ConsentRecord.id == ticket.consent_id))
                ).scalar_one()
                assert consent.session_id == ticket.session_id
                assert consent.consent_version == CONSENT_VERSION
                assert consent.given_at <= ticket.created_at
    finally:
        await services.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(moves, min_size=5, max_size=60), min_size=1, max_size=3))
def test_no_ticket_without_prior_consent(tmp_path: Path, paths: list[list[tuple[str, object]]]) -> None:
    db = tmp_path / f"walk-{next(_counter)}.sqlite3"
    asyncio.run(_walk(f"sqlite+aiosqlite:///{db}", tmp_path, paths))
