"""Secrets from systemd's credentials folder (ASVS 13.3.1, 13.2.1): not static in the environment.

A unit's `LoadCredentialEncrypted=` keeps each secret encrypted at rest with the host's key (and its TPM
when it has one); systemd decrypts it at start into `$CREDENTIALS_DIRECTORY`, a private, read-only folder
only this service can read, gone when it stops. The environment, `/proc/<pid>/environ` and `systemctl show`
then never hold the secret. A credential present wins over the same setting from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

#: the variable systemd sets for a service with credentials
FOLDER = "CREDENTIALS_DIRECTORY"
#: credential name (the unit's `LoadCredentialEncrypted=<name>:...`) → the setting it fills
CREDENTIALS: dict[str, str] = {
    "secret.key": "secret_key_file",  # a path: the key file's own checks (mode, strength) still apply
    "telegram-token": "telegram_token",
    "webhook-secret": "telegram_webhook_secret",
    "database-password": "database_password",
}


def credentials_folder() -> Path | None:
    folder = os.environ.get(FOLDER)
    return Path(folder) if folder else None


class SystemdCredentials(PydanticBaseSettingsSource):
    """A settings source: each credential file that exists, for the setting it names."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the folder as a whole

    def __call__(self) -> dict[str, Any]:
        folder = credentials_folder()
        if folder is None:
            return {}
        found: dict[str, Any] = {}
        for name, setting in CREDENTIALS.items():
            path = folder / name
            if not path.is_file():
                continue
            if setting == "secret_key_file":
                found[setting] = path
                found["secret_key"] = None  # the credential, not a BAKEN_SECRET_KEY left in the environment
            else:
                found[setting] = path.read_text(encoding="utf-8").strip()
        return found
