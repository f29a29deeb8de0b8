"""Canary scan: people with canary names, usernames, Telegram ids and phone numbers talk to Baken on Telegram
(through PTB against the fake Bot API) and on the console; then the database, its WAL and the logs are
searched as bytes. Identities: 0 hits, ever. Free text: 0 hits readable with any key the server still holds
once the person used /forget or retention purged the conversation.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dispatch import Envelope
from bot.log_privacy import install
from bot.storage.retention import purge
from flows.messages import Inbound
from tests.bot.fake_telegram import FakeBotAPI, Person, message, on_webhook
from tests.bot.test_telegram import fast_tuning
from tests.canary import copy_folder, folder_bytes, keys_held, readable, wrapped_rows_sqlite

FORGETS = Person(7301999991, "Kanariefrits", "nl-BE", username="kanarie_gebruiker", last_name="Vogelzang")
PURGED = Person(7301999992, "Pimpelmeesje", "fr", username="mesange_canari", last_name="Roodborst")
PHONE_TYPED = "0470 99 88 77"
PHONE_SHARED = "+32470998866"
CONSOLE_USER = "kanarie-console-sessie"
IDENTITIES = [
    "Kanariefrits", "Vogelzang", "kanarie_gebruiker", "7301999991", "Pimpelmeesje", "Roodborst", "mesange_canari",
    "7301999992", PHONE_TYPED, PHONE_SHARED, "32470998866", CONSOLE_USER,
]
STORIES = {
    FORGETS: f"Mijn zoon praat over de Zwaluwstraat-kanarie-groep. Bel {PHONE_TYPED}.",
    PURGED: "Ma fille parle du groupe Mouettequai-canari tous les soirs.",
}
RELAYED = {FORGETS: "Relais Spreeuwhof-kanarie vrijdag", PURGED: "Relais Goelandrive-canari samedi"}
CONSOLE_STORY = "De buurjongen noemt Reigersbos-kanarie elke dag."
FREE_TEXT = ["Zwaluwstraat-kanarie", "Mouettequai-canari", "Spreeuwhof-kanarie", "Goelandrive-canari",
             "Reigersbos-kanarie"]
PATH = ["/start", "#go", "#role:parent", "#reason:young_person"]
AFTER_STORY = ["#go", "#age:16-17", "#tick:violence_ok", "#tick:withdrawn", "#go", "#go", "#duration:months", "#go",
               "#danger:none", "#counsellor", "#goal:referral", "#consent"]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line at the production level (INFO), through the same privacy filter `baken serve` installs."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    install(handler)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def identities_in(raw: bytes) -> list[str]:
    found = [c for c in IDENTITIES if c.encode() in raw]
    for person in (FORGETS, PURGED):  # an integer column would hold the id in binary
        if person.id.to_bytes(6, "big") in raw or person.id.to_bytes(8, "big") in raw:
            found.append(f"binary {person.id}")
    return found


async def test_no_identity_anywhere_and_no_readable_text_after_erasure(
    tmp_path: Path, captured_logs: io.StringIO
) -> None:
    fake: FakeBotAPI
    fake, baken = await on_webhook(tmp_path / "data", fast_tuning())
    try:
        services = baken.services
        for person in (FORGETS, PURGED):
            await baken.converse(person, [*PATH, STORIES[person], *AFTER_STORY])
            await baken.step(person, RELAYED[person])
            # a shared contact card: the phone number and names sit in the update's metadata
            assert await baken.post(message(person, contact={
                "phone_number": PHONE_SHARED, "first_name": person.first_name, "last_name": person.last_name,
                "user_id": person.id})) == 200
        for step in [*PATH, CONSOLE_STORY, "/forget", "#forget_yes"]:
            inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
            await services.dispatcher.handle(Envelope("console", CONSOLE_USER, inbound,
                                                      update_key=uuid.uuid4().hex, locale_hint="nl"))

        data_dir = baken.settings.data_dir
        secret = baken.settings.secret
        before = copy_folder(data_dir, tmp_path / "before")
        raw = folder_bytes(before)
        assert identities_in(raw) == [], "no name, username, id or phone number is ever stored"
        held = keys_held(secret, wrapped_rows_sqlite(before / "baken.sqlite3"))
        still = readable(raw, held, FREE_TEXT)
        assert still == set(FREE_TEXT) - {"Reigersbos-kanarie"}, (
            "control: the kept conversations read back with the keys; the console one, erased, does not")

        await baken.converse(FORGETS, ["/forget", "#forget_yes"])
        counts = await purge(services.store, dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
        assert counts["sessions"] >= 1 and counts["requests"] >= 1

        after = copy_folder(data_dir, tmp_path / "after")
        raw = folder_bytes(after)
        logs = captured_logs.getvalue()
        assert "ticket opened" in logs, "control: the capture holds Baken's log lines"
        assert identities_in(raw) == []
        assert [c for c in IDENTITIES if c in logs] == [], "no identity in any log line"
        assert [c for c in FREE_TEXT if c.encode() in raw or c in logs] == [], "no free text in plain anywhere"
        held = keys_held(secret, wrapped_rows_sqlite(after / "baken.sqlite3"))
        assert readable(raw, held, FREE_TEXT) == set(), "nothing erased or purged reads back with any key left"
    finally:
        await baken.close()
        await fake.close()
