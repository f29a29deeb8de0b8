"""Log lines name no person: no client address, no pseudonym, whatever library wrote them."""

from __future__ import annotations

import logging
import re

#: addresses, and 16+ hex runs (pseudonyms and their prefixes are hex); times like 14:05:09 stay
_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"  # IPv4
    r"|(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"  # IPv6, full form
    r"|(?:[0-9a-fA-F]{1,4}:)*[0-9a-fA-F]{0,4}::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?"  # IPv6 with ::
)
_PSEUDONYM = re.compile(r"\b[0-9a-f]{16,}\b")


def scrub(text: str) -> str:
    return _PSEUDONYM.sub("<id>", _ADDRESS.sub("<address>", text))


class PrivateLogFilter(logging.Filter):
    """Renders each record once and masks what could point at a person (set on the handler, not a logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install(handler: logging.Handler) -> None:
    handler.addFilter(PrivateLogFilter())
