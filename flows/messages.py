"""The one seam between channels and the conversation domain: what comes in, what goes out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class InboundKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    COMMAND = "command"
    UNSUPPORTED = "unsupported"
    RESUME = "resume"  # a channel reopens a stored conversation: show where it stands, change nothing


class Unsupported(StrEnum):
    """Things a person can send that Baken does not read; each gets its own kind answer."""

    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    CONTACT = "contact"
    EDITED = "edited"
    OTHER = "other"


_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """Text that can be stored and sent: a lone surrogate (valid in JSON, not in UTF-8) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, already stripped of any channel identity."""

    kind: InboundKind
    text: str = ""

    @classmethod
    def from_text(cls, text: str) -> Inbound:
        """Classify typed text: a leading slash makes it a command."""
        text = readable(text)
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            return cls(InboundKind.COMMAND, stripped)
        return cls(InboundKind.TEXT, text)

    @classmethod
    def choice(cls, data: str) -> Inbound:
        return cls(InboundKind.CHOICE, readable(data))

    @classmethod
    def resume(cls) -> Inbound:
        return cls(InboundKind.RESUME)

    @classmethod
    def command(cls, name: str, arg: str = "") -> Inbound:
        return cls(InboundKind.COMMAND, f"/{name} {arg}".strip())

    @classmethod
    def unsupported(cls, what: Unsupported) -> Inbound:
        return cls(InboundKind.UNSUPPORTED, what.value)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the person; `data` is opaque to channels and comes back as a CHOICE."""

    data: str
    label: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to a person, already in their language."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    urgent: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "buttons": [[b.data, b.label] for b in self.buttons],
            "urgent": self.urgent,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Outbound:
        buttons = raw.get("buttons") or []
        assert isinstance(buttons, list)
        return cls(
            text=str(raw["text"]),
            buttons=tuple(Button(str(d), str(label)) for d, label in buttons),
            urgent=bool(raw.get("urgent", False)),
        )
