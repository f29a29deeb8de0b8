"""Deep links for posters and QR codes: t.me/<bot>?start=school opens Baken with the role already chosen."""

from __future__ import annotations

import re
from pathlib import Path

import segno
from telegram import Bot

from bot.channels.telegram.channel import DEFAULT_API_URL

_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows in a start parameter


def start_link(bot_username: str, payload: str) -> str:
    if not _PAYLOAD.match(payload):
        raise ValueError(f"not a valid start parameter: {payload!r}")
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def write_qr(link: str, out: Path, scale: int = 10) -> None:
    """A PNG that survives printing: medium error correction, a quiet zone of four modules."""
    segno.make(link, error="m", micro=False).save(str(out), kind="png", scale=scale, border=4)


async def bot_username(token: str, api_url: str | None = None) -> str:
    """Ask Telegram (getMe) who this token belongs to."""
    root = (api_url or DEFAULT_API_URL).rstrip("/")
    async with Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot") as bot:
        return bot.username
