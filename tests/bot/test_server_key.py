"""A lost, swapped, weak or exposed server key stops Baken with a clear message; nothing replaces it silently."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_services
from bot.server_key import KeyProblem, create_key, fingerprint, read_key
from bot.settings import Settings
from tests.server_keys import TEST_KEY

OTHER_KEY = "another-Key-9876543210-ZYXWVUTSRQ-ponmlkjihg-fedcba"


def baken(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    clean |= {"BAKEN_DATA_DIR": str(data), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=clean, capture_output=True, text=True, timeout=60,
        input="/urgent\n",
    )


@pytest.mark.parametrize("weak", ["", "   ", "a", "k" * 64, "0123456789", "correct horse battery staple"])
def test_a_weak_key_is_refused_from_the_environment_and_from_a_file(tmp_path: Path, weak: str) -> None:
    with pytest.raises(KeyProblem, match="too weak"):
        read_key(weak, tmp_path / "unused")
    path = tmp_path / "secret.key"
    path.write_text(weak)
    path.chmod(0o600)
    with pytest.raises(KeyProblem, match="too weak"):
        read_key(None, path)


def test_a_generated_key_is_accepted_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    shown = create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert fingerprint(read_key(None, path).secret) == shown


def test_serve_refuses_a_weak_environment_key_before_listening(tmp_path: Path) -> None:
    result = baken(tmp_path / "data", "serve", env={"BAKEN_SECRET_KEY": "a", "BAKEN_PORT": "1"})
    assert result.returncode == 2
    assert "BAKEN_SECRET_KEY is too weak" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "baken.sqlite3").exists(), "no database is made without a usable key"


def test_without_a_key_chat_refuses_and_keys_init_makes_one_for_a_new_folder_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = baken(data, "chat", "--lang", "en")
    assert refused.returncode == 2 and "no server key" in refused.stderr and "baken keys init" in refused.stderr
    assert not (data / "secret.key").exists()

    created = baken(data, "keys", "init")
    assert created.returncode == 0 and "created a new server key" in created.stdout
    talked = baken(data, "chat", "--lang", "en")
    assert talked.returncode == 0 and "112" in talked.stdout

    again = baken(data, "keys", "init")
    assert again.returncode == 0 and "nothing to do" in again.stdout, "init is safe to run on every `make run`"

    (data / "secret.key").unlink()  # lost: the database holds a conversation made with it
    lost = baken(data, "keys", "init")
    assert lost.returncode == 1 and "Restore the key" in lost.stderr
    assert not (data / "secret.key").exists(), "a new key is never made over existing data"
    assert baken(data, "chat", "--lang", "en").returncode == 2


async def test_another_key_on_an_existing_database_is_refused(tmp_path: Path, database_url: str) -> None:
    services = await build_services(Settings(data_dir=tmp_path, database_url=database_url, secret_key=TEST_KEY))
    await services.close()
    with pytest.raises(KeyProblem, match="does not belong to the database") as refused:
        await build_services(Settings(data_dir=tmp_path, database_url=database_url, secret_key=OTHER_KEY))
    assert TEST_KEY not in str(refused.value) and OTHER_KEY not in str(refused.value), "the message shows no key"
    services = await build_services(Settings(data_dir=tmp_path, database_url=database_url, secret_key=TEST_KEY))
    await services.close()


async def test_the_data_folder_and_database_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "baken.sqlite3").touch(mode=0o644)
    os.chmod(data / "baken.sqlite3", 0o644)
    services = await build_services(Settings(data_dir=data, secret_key=TEST_KEY))
    await services.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "baken.sqlite3").stat().st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    create_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyProblem, match="chmod 600"):
        read_key(None, path)


async def test_production_warns_when_the_key_lies_beside_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    create_key(tmp_path / "data" / "secret.key")
    with caplog.at_level(logging.WARNING, logger="baken.app"):
        services = await build_services(Settings(data_dir=tmp_path / "data", environment="production"))
        await services.close()
    assert any("same folder as the database" in r.getMessage() for r in caplog.records)
    caplog.clear()
    elsewhere = tmp_path / "keys" / "baken.key"
    create_key(elsewhere)
    with caplog.at_level(logging.WARNING, logger="baken.app"):
        services = await build_services(
            Settings(data_dir=tmp_path / "data2", environment="production", secret_key_file=elsewhere)
        )
        await services.close()
    assert not any("same folder" in r.getMessage() for r in caplog.records)
