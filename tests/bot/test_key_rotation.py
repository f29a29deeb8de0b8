"""`baken keys rotate` while the server runs: nothing written before is lost, nothing waits, and afterwards
only the new key starts the server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import cli
from bot.app import Services, build_services
from bot.crypto import master_kek, unwrap
from bot.desk import DeskService
from bot.dispatch import Envelope
from bot.server_key import KeyProblem, create_key, fingerprint, next_key_path, read_key
from bot.settings import Settings
from bot.storage.accounts import Accounts
from flows.messages import Inbound
from tests.bot.desk_support import signed_in
from tests.bot.test_erasure_proof import PATH, PHONE, RELAYED

STORY_MARK = "Zwartewaterbrug-kanarie"


async def say(services: Services, user: str, steps: list[str]) -> list[str]:
    texts: list[str] = []
    for step in steps:
        inbound = Inbound.choice(step[1:]) if step.startswith("#") else Inbound.from_text(step)
        delivery = await services.dispatcher.handle(
            Envelope("console", user, inbound, update_key=uuid.uuid4().hex, locale_hint="nl"))
        await services.dispatcher.delivered(delivery.outbox_ids)
        texts += [r.text for r in delivery.replies]
    return texts


async def wrapped(services: Services) -> list[tuple[str, int, int, bytes]]:
    async with services.db.connect() as conn:
        rows = (await conn.execute(text("SELECT id, version, master_version, wrapped FROM data_keys"))).all()
    return [(str(r[0]), int(r[1]), int(r[2]), bytes(r[3])) for r in rows]


async def test_rotation_rewraps_every_key_while_the_server_runs(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    key_file = data / "secret.key"
    create_key(key_file)
    old_secret = read_key(None, key_file).secret
    settings = Settings(data_dir=data, database_url=database_url)
    running = await build_services(settings)
    try:
        await say(running, "before", PATH)
        await say(running, "before", [RELAYED])
        anna = await signed_in(running, "anna", languages="nl,fr")
        desk = DeskService(running.store, running.keyring)
        ticket_id = (await desk.queue(anna))[0][0].item.id
        sid = running.dispatcher.pseudonym("console", "before")

        monkeypatch.setenv("BAKEN_DATA_DIR", str(data))
        monkeypatch.setenv("BAKEN_DATABASE_URL", database_url)
        monkeypatch.delenv("BAKEN_SECRET_KEY", raising=False)
        assert await asyncio.to_thread(cli.main, ["keys", "rotate"]) == 0

        new_secret = read_key(None, key_file).secret
        assert new_secret != old_secret and not next_key_path(key_file).exists()
        assert (data / "secret.key.retired-v1").read_text().strip().encode() == old_secret
        rows = await wrapped(running)
        assert rows and {r[2] for r in rows} == {2}, "every data key is wrapped with the new master key"
        for key_id, version, _, blob in rows:
            unwrap(master_kek(new_secret), key_id, version, blob)
            with pytest.raises(Exception):  # noqa: B017 - the old master key opens none of them
                unwrap(master_kek(old_secret), key_id, version, blob)

        # the running server carries on: the same person, their ticket, and a new person
        assert (await running.dispatcher.load_state("console", "before"))[0] == "waiting"
        await say(running, "before", ["And one more thing after the rotation."])
        view = await desk.view(anna, ticket_id)
        assert PHONE in (view.story or view.summary)
        assert [m.text for m in view.messages][-1] == "And one more thing after the rotation."
        assert any(RELAYED in m.text for m in view.messages)
        assert await say(running, "after", ["/start"]), "a new person is answered, their key made with the new master"
    finally:
        await running.close()

    # a restart takes the new key; the old one is refused
    restarted = await build_services(Settings(data_dir=data, database_url=database_url))
    try:
        assert restarted.dispatcher.pseudonym("console", "before") == sid, "every person keeps their pseudonym"
        assert (await restarted.dispatcher.load_state("console", "after"))[0] is not None
        view = await DeskService(restarted.store, restarted.keyring).view(anna, ticket_id)
        assert STORY_MARK in (view.story or view.summary) and len(view.messages) == 2
        account = await restarted.store.run(lambda s: Accounts(s).by_name("anna"))
        assert account is not None
        assert len(restarted.keyring.open_text(account.totp_secret, "totp:anna")) >= 16, "second factors still open"
        rows = await wrapped(restarted)
        assert all(r[2] == 2 for r in rows), "keys made after the rotation are wrapped with the new key too"
    finally:
        await restarted.close()
    old_key_file = data / "secret.key.retired-v1"
    with pytest.raises(KeyProblem, match="does not belong"):
        services = await build_services(Settings(data_dir=data, database_url=database_url,
                                                 secret_key_file=old_key_file))
        await services.close()
    assert fingerprint(new_secret) != fingerprint(old_secret)


async def test_an_interrupted_rotation_is_finished_at_the_next_start(tmp_path: Path, database_url: str) -> None:
    """The database took the new key, the key file did not move yet (a crash): the start completes it."""
    from bot.server_key import write_next_key
    from bot.storage.data_keys import rotate

    data = tmp_path / "data"
    key_file = data / "secret.key"
    create_key(key_file)
    settings = Settings(data_dir=data, database_url=database_url)
    services = await build_services(settings)
    try:
        await say(services, "p", PATH[:6])
        new = write_next_key(key_file)
        await services.store.run(lambda s: rotate(s, services.keyring, new, fingerprint(new)))
    finally:
        await services.close()
    services = await build_services(Settings(data_dir=data, database_url=database_url))
    try:
        assert read_key(None, key_file).secret == new and (data / "secret.key.retired-v1").exists()
        assert (await services.dispatcher.load_state("console", "p"))[0] is not None
    finally:
        await services.close()
