"""What PTB and httpx may write to the log: never the bot token, never an update's contents."""

from __future__ import annotations

import logging

from telegram import TelegramObject


class KeepSecretsOut(logging.Filter):
    """Replaces the token in any line and drops Telegram objects (updates, messages) from log arguments."""

    def __init__(self, token: str) -> None:
        super().__init__("")
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, TelegramObject) for a in record.args):
            record.args = tuple(
                f"<{type(a).__name__}>" if isinstance(a, TelegramObject) else a for a in record.args
            )
        if self.token and (self.token in str(record.msg) or any(self.token in str(a) for a in record.args or ())):
            record.msg = record.getMessage().replace(self.token, "<token>")
            record.args = ()
        return True


def keep_secrets_out_of_logs(token: str) -> None:
    """httpx logs every request URL, token included, at INFO: keep it and PTB's debug dumps quiet."""
    for name in ("httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.WARNING)
    ptb = logging.getLogger("telegram")
    if ptb.getEffectiveLevel() < logging.INFO:
        ptb.setLevel(logging.INFO)
    guard = KeepSecretsOut(token)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, KeepSecretsOut) for f in handler.filters):
            handler.addFilter(guard)
