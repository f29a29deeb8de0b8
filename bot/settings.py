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
    #: first-answer targets per level for the queue's colours
    wait_targets: str = "urgent=5m,serious=30m,concern=4h,info=24h"
    #: plain HTTP for the dashboard on 127.0.0.1 (`make run`): a plainly named cookie, and the page says so
    dashboard_dev: bool = False
    #: a Telegram group that gets a short notice (number, level, language, region) of each new ticket
    telegram_counsellor_chat_id: int | None = None

    telegram_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str | None = None

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'baken.sqlite3').resolve()}"

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
