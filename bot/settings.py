"""All configuration in one object, read from BAKEN_* environment variables (and .env)."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.credentials import SystemdCredentials
from bot.hostnames import normalise_host
from bot.server_key import key_path, read_key
from bot.storage.database import is_sqlite
from bot.storage.retention import Retention

#: the TLS modes that refuse a connection without TLS (asyncpg's `ssl=`, libpq's and psycopg's `sslmode=`)
TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})


class StartProblem(RuntimeError):
    """The configuration must not serve: the message says why and what to change, and names no secret."""


def _local_host(host: str) -> bool:
    """A Unix socket (a path, or no host: the default socket) or a loopback address: traffic stays here."""
    host = host.strip().strip("[]")
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def database_transport_problem(url: str) -> str | None:
    """Why a PostgreSQL URL would carry the database's traffic (a password, every sealed row) in clear text
    across a network, or None (ASVS 12.3.1). SQLite, a Unix socket and loopback need no TLS."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return None
    query = {k: (v[-1] if isinstance(v, tuple) else v) for k, v in parsed.query.items()}
    hosts = [h for h in (parsed.host or "", *str(query.get("host") or "").split(",")) if h]
    remote = [h for h in hosts if not _local_host(h)]
    mode = str(query.get("ssl") or query.get("sslmode") or "").strip().lower()
    if not remote or mode in TLS_MODES:
        return None
    said = f" (ssl={mode})" if mode else ""
    return (f"BAKEN_DATABASE_URL names PostgreSQL on {remote[0]}, another machine, without requiring TLS{said}: "
            "passwords and every stored row would cross the network readable. Add ?ssl=verify-full (or "
            "?ssl=require) to the URL and allow the user with `hostssl` in pg_hba.conf (docs/deploy.md, "
            "section 2). Development (BAKEN_ENVIRONMENT other than production) only warns.")


def api_transport_problem(url: str | None) -> str | None:
    """Why BAKEN_TELEGRAM_API_URL would send the bot token and people's messages in clear text across a
    network, or None: plain `http://` is for a self-hosted Bot API server on this host only."""
    if not url:
        return None
    parsed = urlsplit(url)
    if parsed.scheme.lower() != "http" or _local_host(parsed.hostname or ""):
        return None
    return (f"BAKEN_TELEGRAM_API_URL names {parsed.hostname}, another machine, over plain http://: the bot token "
            "and every message would cross the network readable. Use https://, or run the Bot API server on "
            "this host (127.0.0.1).")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAKEN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    #: the owner role's URL for migrations (`baken db upgrade`, restore); unset: BAKEN_DATABASE_URL's role
    #: migrates if it owns the schema. With it, BAKEN_DATABASE_URL's role gets DML only (docs/deploy.md)
    migration_database_url: str | None = None
    #: the password for BAKEN_DATABASE_URL, kept out of the URL: from systemd's `database-password` credential
    database_password: str | None = None
    secret_key: str | None = None
    secret_key_file: Path | None = None
    #: where the day keys sealing backups' data keys live (default: `backup-keys` beside the server key)
    backup_keys_dir: Path | None = None
    #: days a backup key lives: an erasure reaches every backup within this many days (and older backups
    #: cannot be restored)
    backup_key_days: int = Field(default=7, ge=1, le=90)
    environment: str = "development"  # or "production": stricter warnings at start
    host: str = "127.0.0.1"
    port: int = 8080
    default_locale: str = "nl"
    counsellor_hours: str = "mon-fri 09:00-17:00"
    timezone: str = "Europe/Brussels"
    contact_stale_months: int = 12
    # read as text so that a broken value purges on the default (with a warning) instead of stopping Baken
    retention_idle_session_days: str | None = None
    retention_closed_ticket_days: str | None = None
    retention_open_request_days: str | None = None
    retention_audit_days: str | None = None
    log_level: str = "INFO"
    #: "json" (one object a line) or "text"; unset: JSON when environment is production, else text
    log_format: str | None = None
    #: reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks, comma-separated)
    trusted_proxies: str = ""
    #: when set, /metrics answers only `Authorization: Bearer <token>`; unset, only direct loopback requests
    metrics_token: str | None = None
    #: first-answer targets per level for the queue's colours
    wait_targets: str = "urgent=5m,serious=30m,concern=4h,info=24h"
    #: plain HTTP for the dashboard on 127.0.0.1 (`make run`): a plainly named cookie, and the page says so
    dashboard_dev: bool = False
    #: the dashboard's own host name (dashboard.baken.example): /dashboard/ answers 404 on every other host and
    #: that host serves only the dashboard (ASVS 3.5.4); unset, one host serves everything (development)
    dashboard_host: str | None = None
    #: the organisation's own words refused in new counsellor passwords (its name, its town), comma-separated,
    #: besides the fixed ones in handover/password_rules.py and each counsellor's name and alias
    password_words: str = ""
    #: a Telegram group that gets a short notice (number, level, language, region) of each new ticket
    telegram_counsellor_chat_id: int | None = None

    #: sites allowed to embed the web chat (widget.js), comma-separated origins: https://school.example
    webchat_origins: str = ""
    #: where quick exit goes: a neutral site
    webchat_exit_url: str = "https://www.google.be/"
    #: multiplies the per-address limits: behind a proxy that hides client addresses, or for the load script
    webchat_address_scale: int = 1

    #: seconds a client has to send a whole request head before its connection is closed (slowloris)
    header_timeout_seconds: float = 10.0
    #: seconds a stored step may take before a message asking for urgent help gets its numbers without it
    urgent_grace_seconds: float = 0.5

    telegram_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str | None = None
    #: PTB's HTTP layer: "aiohttp" (Baken's backend, several times cheaper per request) or "httpx" (PTB's)
    telegram_http: Literal["aiohttp", "httpx"] = "aiohttp"
    #: a one-message reply rides in the webhook's answer (saves a request; see README for what it gives up)
    telegram_webhook_reply: bool = True
    #: Telegram's bot-wide limit (messages a second), shared by every process (budget.py); 0 turns it off, only
    #: for load tests against a fake Bot API
    telegram_send_limit: int = Field(default=30, ge=0)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """systemd's credentials (bot/credentials.py) before the environment: a secret present there wins."""
        return init_settings, SystemdCredentials(settings_cls), env_settings, dotenv_settings, file_secret_settings

    @field_validator("dashboard_host")
    @classmethod
    def _dashboard_host(cls, value: str | None) -> str | None:
        """A bare host name, compared with the Host header as it comes (lower case, no port)."""
        if value is None or not value.strip():
            return None
        return normalise_host(value)

    @field_validator("telegram_api_url")
    @classmethod
    def _api_root(cls, value: str | None) -> str | None:
        """Accept a Bot API server's root URL and PTB's `base_url` form (ending in /bot) alike: keep the root.

        The channel appends /bot and /file/bot itself, so "https://api.example/bot" would otherwise become
        ".../bot/bot<token>/…" and Telegram would answer "InvalidToken".
        """
        if value is None or not value.strip():
            return None
        root = value.strip().rstrip("/")
        for suffix in ("/file/bot", "/bot"):
            if root.endswith(suffix):
                root = root[: -len(suffix)]
                break
        return root

    @property
    def db_url(self) -> str:
        if self.database_url:
            if self.database_password and not is_sqlite(self.database_url):
                url = make_url(self.database_url).set(password=self.database_password)
                return url.render_as_string(hide_password=False)
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'baken.sqlite3').resolve()}"

    @property
    def migration_url(self) -> str:
        """Who changes the schema: the owner when it is named, else the server's own role."""
        return self.migration_database_url or self.db_url

    def retention(self) -> tuple[Retention, list[str]]:
        return Retention.parse(
            self.retention_idle_session_days, self.retention_closed_ticket_days, self.retention_open_request_days,
            self.retention_audit_days,
        )

    @property
    def key_file(self) -> Path:
        return key_path(self.data_dir, self.secret_key_file)

    @property
    def backup_keys_folder(self) -> Path:
        return self.backup_keys_dir or self.key_file.parent / "backup-keys"

    @property
    def webchat_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.webchat_origins.split(",") if o.strip())

    @cached_property
    def secret(self) -> bytes:
        """The server key, checked for strength and file mode; never created here (see `baken keys init`)."""
        return read_key(self.secret_key, self.key_file).secret

    def _transport_problems(self) -> list[str]:
        owner = self.migration_database_url
        found = (database_transport_problem(self.db_url), database_transport_problem(owner) if owner else None,
                 api_transport_problem(self.telegram_api_url))
        return [p for p in found if p is not None]

    def check_transport(self) -> None:
        """Refuse, in production, a database or Bot API reached across the network without TLS (ASVS 12.3.1)."""
        problems = self._transport_problems()
        if problems and self.environment == "production":
            raise StartProblem(problems[0])

    def transport_warnings(self) -> list[str]:
        """The same, outside production: warnings at start."""
        return self._transport_problems() if self.environment != "production" else []

    def key_warnings(self) -> list[str]:
        """What an operator should change, though it need not stop the server."""
        beside = (
            self.secret_key is None
            and self.database_url is None
            and self.key_file.parent.resolve() == self.data_dir.resolve()
        )
        if self.environment == "production" and beside:
            return [
                f"the server key {self.key_file} lies in the same folder as the database: a copy of that folder "
                "is enough to read everything. Keep the key elsewhere (BAKEN_SECRET_KEY_FILE) and back it up "
                "apart from the database."
            ]
        return []
