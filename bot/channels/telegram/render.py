"""Outbound messages as Telegram shows them: escaped HTML, **bold**, parts of at most 4,096 characters, buttons."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from flows.messages import Button, Outbound

TEXT_LIMIT: int = MessageLimit.MAX_TEXT_LENGTH
DATA_LIMIT: int = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
# content marks emphasis as **bold**; found after escaping, so a person's own "<b>" or "*" stays literal
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram message: HTML text and, on the last part of an Outbound, its keyboard."""

    html: str
    buttons: tuple[Button, ...] = ()

    @property
    def markup(self) -> InlineKeyboardMarkup | None:
        """The keyboard as PTB sends it (built once per keyboard)."""
        return keyboard(self.buttons)

    def markup_json(self) -> dict[str, Any] | None:
        """The keyboard as the Bot API's JSON, for a reply in the webhook's answer: built once per keyboard
        (PTB's to_dict walks every button's attributes, about 0.1 ms for a ten-button question). Shared:
        the caller serialises it and never changes it."""
        return _keyboard_json(self.buttons) if self.buttons else None


def to_html(text: str) -> str:
    """Escape everything, then turn the content's **bold** into <b>: nothing else can format."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many code points of `text` fit in `limit` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a long text on paragraph, then line, then word boundaries; mid-word only when nothing else fits."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit = _fitting(rest, limit)
        window = rest[:fit]
        cut, skip = fit, 0
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > fit // 3:
                cut, skip = at, len(sep)
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut + skip:].lstrip("\n")
    parts.append(rest)
    return [p for p in parts if p.strip()] or ["…"]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: labels are sentences in four languages and read best full width."""
    if not buttons:
        return None
    return _keyboard(tuple(buttons))


@lru_cache(maxsize=1024)
def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup:
    """Keyboards come from the content, so few differ: built once each (PTB's objects are immutable)."""
    for b in buttons:
        if len(b.data.encode()) > DATA_LIMIT:
            raise ValueError(f"button data longer than {DATA_LIMIT} bytes: {b.data[:20]}…")
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data)] for b in buttons])


@lru_cache(maxsize=1024)
def _keyboard_json(buttons: tuple[Button, ...]) -> dict[str, Any]:
    return _keyboard(buttons).to_dict()


def _groups(replies: Sequence[Outbound]) -> list[list[Outbound]]:
    """Consecutive plain replies share one message; a keyboard ends one; urgent numbers stand alone."""
    groups: list[list[Outbound]] = []
    size = 0
    for reply in replies:
        last = groups[-1] if groups else None
        joinable = (
            last is not None
            and not last[-1].buttons
            and not last[-1].urgent
            and not reply.urgent
            and size + 2 + utf16_len(reply.text) <= TEXT_LIMIT
        )
        if last is not None and joinable:
            last.append(reply)
            size += 2 + utf16_len(reply.text)
        else:
            groups.append([reply])
            size = utf16_len(reply.text)
    return groups


def compose(replies: Sequence[Outbound]) -> list[Part]:
    """The messages to send for one step's replies, in order."""
    parts: list[Part] = []
    for group in _groups(replies):
        texts = split_text("\n\n".join(r.text for r in group))
        buttons = tuple(group[-1].buttons)
        parts += [Part(to_html(text)) for text in texts[:-1]]
        parts.append(Part(to_html(texts[-1]), buttons))
    return parts
