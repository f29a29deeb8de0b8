"""ASVS 13.3.1, 13.2.1: the server key, the Telegram token, the webhook secret and the database password come
from systemd's credentials folder (encrypted at rest with `LoadCredentialEncrypted=`), not the environment;
the shipped units declare each of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.channels.telegram.webhook import webhook_secret
from bot.credentials import CREDENTIALS, FOLDER
from bot.server_key import create_key
from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TOKEN = "123456:credential-token"
WEBHOOK = "credential-webhook-secret"
PASSWORD = "p@ss/word:from-systemd"


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder as systemd makes it for a service: one file per credential, mode 0400; and an environment that
    says something else for each, which must lose."""
    folder = tmp_path / "credentials"
    create_key(folder / "secret.key")
    for name, value in (("telegram-token", TOKEN), ("webhook-secret", WEBHOOK), ("database-password", PASSWORD)):
        (folder / name).write_text(value + "\n")
    for path in folder.iterdir():
        path.chmod(0o400)
    monkeypatch.setenv(FOLDER, str(folder))
    monkeypatch.setenv("BAKEN_TELEGRAM_TOKEN", "999:from-the-environment")
    monkeypatch.setenv("BAKEN_SECRET_KEY", "from-the-environment-" + "x" * 43)
    monkeypatch.setenv("BAKEN_DATABASE_URL", "postgresql+asyncpg://baken@127.0.0.1:5432/baken")
    return folder


def test_each_secret_is_read_from_the_credentials_folder(credentials: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.key_file == credentials / "secret.key"
    assert settings.secret == (credentials / "secret.key").read_text().strip().encode(), "the credential's key"
    assert settings.telegram_token == TOKEN
    assert webhook_secret(settings) == WEBHOOK
    url = make_url(settings.db_url)
    assert url.password == PASSWORD and url.username == "baken" and url.host == "127.0.0.1"
    assert PASSWORD not in make_url(settings.db_url).render_as_string(hide_password=True)


def test_without_the_folder_nothing_is_read_from_it(credentials: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FOLDER)
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.telegram_token == "999:from-the-environment"
    assert settings.secret_key is not None and settings.secret_key.startswith("from-the-environment")
    assert make_url(settings.db_url).password is None


def test_a_credential_the_service_lacks_leaves_the_setting_alone(credentials: Path, tmp_path: Path) -> None:
    (credentials / "telegram-token").unlink()
    (credentials / "webhook-secret").unlink()
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.telegram_token == "999:from-the-environment"
    assert settings.telegram_webhook_secret is None


@pytest.mark.parametrize("unit", ["baken.service", "baken@.service"])
def test_the_units_load_every_secret_encrypted_and_none_from_the_environment(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text()
    declared = dict(re.findall(r"^LoadCredentialEncrypted=([\w.@-]+):(\S+)$", text, re.M))
    assert set(declared) == set(CREDENTIALS), declared
    assert all(path.endswith(".cred") and path.startswith("/etc/credstore.encrypted/") for path in declared.values())
    assert not re.search(r"^LoadCredential=", text, re.M), "no secret stored in clear on the host"
    assert "SetCredential=" not in text
    for variable in ("BAKEN_SECRET_KEY", "BAKEN_SECRET_KEY_FILE", "BAKEN_TELEGRAM_TOKEN", "BAKEN_DATABASE_PASSWORD",
                     "BAKEN_TELEGRAM_WEBHOOK_SECRET"):
        assert f"{variable}=" not in text, f"{variable} would put the secret back in the environment"
