"""Outbound messages as the web chat shows them: escaped HTML, articles as pages, contacts with tap-to-call.

Everything a person or the content wrote is escaped first; only the few tags built here exist in the result,
so the page can insert it as HTML without any script or style reaching it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from content.directory import LANGS, Labels
from content.i18n import LOCALES
from content.library import Library, default_library
from flows.messages import Outbound

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_NUMBER = re.compile(r"\+?\d[\d ./]{1,18}\d|\d{3}")
_BULLETS = ("• ", "- ")
#: the label keys whose lines make a paragraph a contact card
_CARD_KEYS = ("phone", "website", "chat_on_website", "email")


@dataclass(frozen=True, slots=True)
class Prefixes:
    """How a contact's lines begin in each language, read from the directory's labels."""

    phone: tuple[str, ...]
    card: tuple[str, ...]


@lru_cache(maxsize=1)
def _prefixes() -> Prefixes:
    labels = Labels.load()
    phone = tuple(labels.text("phone", lang, phone="").rstrip() for lang in LANGS)
    card: list[str] = []
    for key in _CARD_KEYS:
        for lang in LANGS:
            probe = labels.text(key, lang, phone="\0", url="\0", email="\0")
            card.append(probe.split("\0")[0].rstrip())
    return Prefixes((*phone, "☎"), tuple(p for p in card if p))


@lru_cache(maxsize=1)
def _titles() -> dict[str, str]:
    """Article title → body, over every language: an article reply is its title, a blank line and its body."""
    library: Library = default_library()
    return {a.title: a.body for lang in LOCALES for a in library.in_language(lang)}


def _tel(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit() or ch == "+")


def _inline(line: str) -> str:
    """Escape, then links and **bold**; nothing else can format."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(line):
        out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(line[last:match.start()], quote=False)))
        url = html.escape(match.group(0))
        out.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>')
        last = match.end()
    out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(line[last:], quote=False)))
    return "".join(out)


def _phone_line(line: str, prefixes: Prefixes) -> str | None:
    """A line that gives a phone number, with the number as a tel: link; None for any other line."""
    stripped = line.strip()
    for prefix in prefixes.phone:
        if stripped.startswith(prefix):
            rest = stripped[len(prefix):]
            found = _NUMBER.search(rest)
            if found is None:
                return None
            number = found.group(0).strip()
            head = html.escape(stripped[: len(prefix) + found.start()], quote=False)
            tail = _inline(rest[found.end():])
            link = f'<a class="tel" href="tel:{_tel(number)}">{html.escape(number)}</a>'
            return f"{head}{link}{tail}"
    return None


def _line(line: str, prefixes: Prefixes) -> str:
    phone = _phone_line(line, prefixes)
    return phone if phone is not None else _inline(line)


def _paragraph(block: str, prefixes: Prefixes) -> tuple[str, bool]:
    """One paragraph as HTML, and whether it is a contact card."""
    lines = [ln for ln in block.split("\n") if ln.strip()]
    if not lines:
        return "", False
    if all(ln.lstrip().startswith(_BULLETS) for ln in lines):
        bullets = "".join(f"<li>{_line(ln.lstrip()[2:], prefixes)}</li>" for ln in lines)
        return f"<ul>{bullets}</ul>", False
    is_card = len(lines) >= 2 and any(ln.strip().startswith(prefixes.card) for ln in lines[1:])
    if is_card:
        rest = "".join(f"<li>{_line(ln, prefixes)}</li>" for ln in lines[1:])
        return f'<section class="contact"><h3>{_inline(lines[0])}</h3><ul>{rest}</ul></section>', True
    # a heading line followed by a bulleted list stays together, as the summaries and reasons are written
    out: list[str] = []
    items: list[str] = []
    for ln in lines:
        if ln.lstrip().startswith(_BULLETS):
            items.append(f"<li>{_line(ln.lstrip()[2:], prefixes)}</li>")
            continue
        if items:
            out.append(f"<ul>{''.join(items)}</ul>")
            items = []
        out.append(f"<p>{_line(ln, prefixes)}</p>")
    if items:
        out.append(f"<ul>{''.join(items)}</ul>")
    return "".join(out), False


def _article(title: str, body: str) -> str:
    prefixes = _prefixes()
    parts = [f'<h2 class="article-title">{html.escape(title)}</h2>']
    for block in body.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if len(lines) == 1 and _BOLD.fullmatch(lines[0].strip()):
            parts.append(f"<h3>{html.escape(lines[0].strip()[2:-2])}</h3>")
            continue
        parts.append(_paragraph(block, prefixes)[0])
    return "".join(parts)


def render_message(reply: Outbound) -> dict[str, object]:
    """One Outbound as the page's JSON: `html` (safe), its kind, buttons, and checkboxes for multi-select."""
    title, _, body = reply.text.partition("\n\n")
    kind = "text"
    if body and _titles().get(title) == body:
        kind, markup = "article", _article(title, body)
    else:
        prefixes = _prefixes()
        pieces: list[str] = []
        for block in reply.text.split("\n\n"):
            piece, card = _paragraph(block, prefixes)
            pieces.append(piece)
            kind = "contacts" if card else kind
        markup = "".join(pieces)
    checks = [
        {"value": b.data.partition(":")[2], "label": b.label.removeprefix("✓ "), "checked": b.label.startswith("✓ ")}
        for b in reply.buttons if b.data.startswith("tick:")
    ]
    buttons = [{"data": b.data, "label": b.label} for b in reply.buttons if not b.data.startswith("tick:")]
    message: dict[str, object] = {"html": markup, "kind": kind, "urgent": reply.urgent, "buttons": buttons}
    if checks:
        message["checks"] = checks
    return message


def render_all(replies: Sequence[Outbound], outbox_id: int | None = None) -> list[dict[str, object]]:
    """A step's replies; each carries the outbox row it came from, so the page can acknowledge and dedupe."""
    out = []
    for i, reply in enumerate(replies):
        message = render_message(reply)
        if outbox_id is not None:
            message["key"] = f"{outbox_id}.{i}"
        out.append(message)
    return out
