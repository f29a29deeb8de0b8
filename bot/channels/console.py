"""The terminal channel: the same conversation as every channel, numbered choices, pipe-friendly."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bot.dispatch import Delivery, Dispatcher, Envelope
from flows.messages import Button, Inbound

CHANNEL = "console"


def render(delivery: Delivery) -> str:
    """Plain text: each message, then its choices numbered as the engine numbers them."""
    blocks: list[str] = []
    for reply in delivery.replies:
        lines = [reply.text.replace("**", "")]
        lines += [f"  {i}. {b.label}" for i, b in enumerate(reply.buttons, 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


async def run_console(
    dispatcher: Dispatcher,
    *,
    locale: str | None,
    session: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    user = session or uuid.uuid4().hex
    interactive = stdin.isatty()
    last_buttons: tuple[Button, ...] = ()

    async def send(inbound: Inbound) -> None:
        nonlocal last_buttons
        delivery = await dispatcher.handle(Envelope(CHANNEL, user, inbound, locale_hint=locale))
        await dispatcher.delivered(delivery.outbox_ids)
        stdout.write(render(delivery) + "\n\n")
        stdout.flush()
        with_buttons = [r for r in delivery.replies if r.buttons]
        last_buttons = with_buttons[-1].buttons if with_buttons else ()

    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(errors="replace")  # bytes that are not UTF-8 become U+FFFD, never an exit
    await send(Inbound.resume() if session else Inbound.command("start"))
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        text = line.rstrip("\r\n")
        if not interactive:
            stdout.write(f"> {text}\n")
        if not text.strip():
            continue
        if text.strip().lower() in ("/quit", "/exit"):
            break
        await send(_to_inbound(text, last_buttons))
    return 0


def _to_inbound(text: str, buttons: tuple[Button, ...]) -> Inbound:
    """A bare number picks that choice of the last question, as a button press would."""
    stripped = text.strip()
    if stripped.isdigit() and buttons and 1 <= int(stripped) <= len(buttons):
        return Inbound.choice(buttons[int(stripped) - 1].data)
    return Inbound.from_text(text)
