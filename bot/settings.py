"""All configuration in one object, read from BAKEN_* environment variables (and .env)."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAKEN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    default_locale: str = "nl"
    counsellor_hours: str = "mon-fri 09:00-17:00"
    timezone: str = "Europe/Brussels"
    contact_stale_months: int = 12
    log_level: str = "INFO"

    #: sites allowed to embed the web chat (widget.js), comma-separated origins: https://school.example
    webchat_origins: str = ""
    #: where quick exit goes: a neutral site
    webchat_exit_url: str = "https://www.google.be/"
    #: multiplies the per-address limits: behind a proxy that hides client addresses, or for the load script
    webchat_address_scale: int = 1

    telegram_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str | None = None

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'baken.sqlite3').resolve()}"

    @property
    def webchat_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.webchat_origins.split(",") if o.strip())

    @cached_property
    def secret(self) -> bytes:
        """The server secret; generated once into the data folder (mode 0600) when not configured."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
