"""The terminal channel: the same conversation as every channel, numbered choices, pipe-friendly."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.dispatch import Delivery, Dispatcher, Envelope
from bot.relay import RelayPump, pumping
from bot.urgent import NOT_KEPT, STORAGE_ERRORS, numbers_first, without_numbers
from content.i18n import DEFAULT_LOCALE, translator
from flows.messages import Button, Inbound, Outbound

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
    relay_every: float = 0.25,
) -> int:
    user = session or uuid.uuid4().hex
    interactive = stdin.isatty()
    last_buttons: tuple[Button, ...] = ()

    async def show(replies: list[Outbound]) -> None:
        stdout.write(render(Delivery("", replies)) + "\n\n")
        stdout.flush()

    async def send(inbound: Inbound) -> None:
        """One step; urgent help shows its numbers even when storage is late or down (see bot.urgent)."""
        nonlocal last_buttons
        work = dispatcher.handle(Envelope(CHANNEL, user, inbound, locale_hint=locale))
        try:
            delivery, shown = await numbers_first(work, dispatcher.urgent_numbers(inbound, locale), show)
            await dispatcher.delivered(delivery.outbox_ids)
        except STORAGE_ERRORS:
            stdout.write(translator(locale or DEFAULT_LOCALE)(NOT_KEPT) + "\n\n")
            stdout.flush()
            return
        if shown:
            delivery.replies = without_numbers(delivery.replies)
        stdout.write(render(delivery) + "\n\n")
        stdout.flush()
        with_buttons = [r for r in delivery.replies if r.buttons]
        last_buttons = with_buttons[-1].buttons if with_buttons else ()

    async def show_relayed(_sid: str, _address: str | None, replies: list[Outbound]) -> list[int]:
        """A counsellor's message, written by the dashboard in any process, shown between the person's lines."""
        nonlocal last_buttons
        with_buttons = [r for r in replies if r.buttons]
        if with_buttons:
            last_buttons = with_buttons[-1].buttons
        stdout.write(render(Delivery(_sid, replies)) + "\n\n")
        if interactive:
            stdout.write("> ")
        stdout.flush()
        return []

    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(errors="replace")  # bytes that are not UTF-8 become U+FFFD, never an exit
    await send(Inbound.resume() if session else Inbound.command("start"))
    pump = RelayPump(dispatcher.store, dispatcher.keys, CHANNEL, show_relayed,
                     session_id=dispatcher.pseudonym(CHANNEL, user), every=relay_every)
    async with pumping(pump):
        return await _converse(stdin, stdout, interactive, send, lambda: last_buttons)


async def _converse(stdin: TextIO, stdout: TextIO, interactive: bool, send: Callable[[Inbound], Awaitable[None]],
                    buttons: Callable[[], tuple[Button, ...]]) -> int:
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
        await send(_to_inbound(text, buttons()))
    return 0


def _to_inbound(text: str, buttons: tuple[Button, ...]) -> Inbound:
    """A bare number picks that choice of the last question, as a button press would."""
    stripped = text.strip()
    if stripped.isdigit() and buttons and 1 <= int(stripped) <= len(buttons):
        return Inbound.choice(buttons[int(stripped) - 1].data)
    return Inbound.from_text(text)
