"""Log lines: one JSON object a line in production, readable text in development; never a person in them.

Every line passes `log_privacy` (addresses and pseudonyms masked, in the message and in tracebacks). A line
written while a web request is handled carries that request's random id (`request_id`, also sent back as the
`X-Request-Id` header and written in the access log), so the lines of one request can be found together
without anything that points at the person who made it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import IO, Any

from aiohttp import web

from bot.log_privacy import PrivateLogFilter, scrub

#: the id of the web request this task is handling; set by the middleware, read by every log line
REQUEST_ID: ContextVar[str | None] = ContextVar("baken_request_id", default=None)
HEADER = "X-Request-Id"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s"


def new_request_id() -> str:
    """12 random hex digits: enough to tell requests apart, too short to look like a pseudonym to the scrub."""
    return secrets.token_hex(6)


def utc_time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with its offset and milliseconds, in both formats: lines from several servers (or a
    server and the audit log, also UTC) can be put in order without knowing where each was written."""
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rid = REQUEST_ID.get()
        record.request_id = rid
        record.request_tag = f" [{rid}]" if rid else ""
        return True


class TextFormatter(logging.Formatter):
    """The development format; tracebacks are scrubbed like messages."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """A line break inside a message is written as `\\n`: text cannot forge a line of its own."""
        record.message = record.message.replace("\r", "\\r").replace("\n", "\\n")
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return scrub(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return scrub(super().formatStack(stack_info))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and a scrubbed traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


def wants_json(environment: str, log_format: str | None) -> bool:
    """BAKEN_LOG_FORMAT decides when set (json or text); otherwise production logs JSON."""
    choice = (log_format or "").strip().lower()
    if choice in ("json", "text"):
        return choice == "json"
    return environment.strip().lower() == "production"


def configure(*, level: int | str, json_lines: bool, stream: IO[str] | None = None) -> logging.Handler:
    """The root logger's one handler: privacy filter first, then the request id, then the format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(PrivateLogFilter())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


@web.middleware
async def request_ids(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A fresh id per request (never taken from the client); left set so aiohttp's own error and access
    lines for this request, written after the handler in the same task, carry it too."""
    rid = new_request_id()
    REQUEST_ID.set(rid)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[HEADER] = rid
        raise
    if not response.prepared:
        response.headers[HEADER] = rid
    return response
