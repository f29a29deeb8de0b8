"""The relay across processes: `baken chat` in one process, the counsellor's desk in another, one database."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.app import build_services
from bot.desk import DeskService
from bot.settings import Settings
from bot.storage.models import SurveyAnswer, Ticket
from content.i18n import translator
from handover.lifecycle import Closing, Outcome
from tests.bot.desk_support import signed_in
from tests.bot.test_console import TO_TICKET
from tests.server_keys import first_run


def ticket_ids(s: Session) -> list[int]:
    return [i for i in s.execute(select(col(Ticket.id))).scalars() if i is not None]


class Chat:
    """A `baken chat` process whose output is read line by line on a thread (pipes have no async here)."""

    def __init__(self, data: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
        env["BAKEN_DATA_DIR"] = str(data)
        first_run(data)
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "chat", "--lang", "nl"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def type(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, text: str, within: float = 30.0) -> float:
        """Blocks until the chat printed `text`; returns the moment it did."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(text in s for s in self.seen):
                return time.monotonic()
            try:
                self.seen.append(self.lines.get(timeout=0.05))
            except queue.Empty:
                continue
        raise AssertionError(f"the chat never showed {text!r}; it showed: {''.join(self.seen)[-2000:]}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def console_chat(tmp_path: Path) -> Iterator[Chat]:
    chat = Chat(tmp_path / "data")
    yield chat
    chat.close()


async def test_the_counsellor_and_a_console_in_another_process_talk_both_ways(
    console_chat: Chat, tmp_path: Path
) -> None:
    console_chat.type(*TO_TICKET)
    console_chat.wait_for("nummer 1")  # "Je bent nummer 1 in de wachtrij": consented, in the queue
    services = await build_services(Settings(data_dir=tmp_path / "data"))
    try:
        desk = DeskService(services.store, services.keyring)
        (ticket_id,) = await services.store.run(ticket_ids)
        anna = await signed_in(services, "anna", languages="nl")
        await desk.claim(anna, ticket_id)
        console_chat.wait_for(translator("nl")("End the conversation"))
        started = time.monotonic()
        await desk.reply(anna, ticket_id, "Goedemiddag, ik lees je samenvatting. <b>Vertel</b> gerust meer.")
        shown = console_chat.wait_for("<b>Vertel</b> gerust meer.")
        assert shown - started < 10
        console_chat.type("Dank je, hij is 16 en zit elke avond op dat forum.")
        deadline = time.monotonic() + 30
        lines: list[str] = []
        while time.monotonic() < deadline and not lines:
            _, found = await desk.messages_after(anna, ticket_id, 0)
            lines = [m.text for m in found if m.sender == "person"]
            await asyncio.sleep(0.05)  # a poll that never pauses keeps the console's process from the write lock
        assert lines == ["Dank je, hij is 16 en zit elke avond op dat forum."]
        await desk.close(anna, ticket_id, Closing(Outcome.ADVICE))
        console_chat.wait_for(translator("nl")("Did this conversation help you?"))
        console_chat.type("1")  # the first survey answer, by its number as the console offers it
        deadline = time.monotonic() + 30
        answers: list[tuple[str, str]] = []
        while time.monotonic() < deadline and not answers:
            answers = await services.store.run(
                lambda s: [(a.question, a.answer) for a in s.execute(select(SurveyAnswer)).scalars()])
            await asyncio.sleep(0.05)
        assert answers == [("helpful", "yes")], "stored anonymously, linked to nothing"
    finally:
        await services.close()
