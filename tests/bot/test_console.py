"""`baken chat` driven through a pipe, as a script or a person at a terminal would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from content.i18n import LOCALES, translator
from handover.consent import CONSENT_VERSION
from tests.server_keys import first_run

# welcome → continue, parent, a worry about a young person, own words, continue, age, ticks, done, no other
# worries, months, no explanations, no danger, counsellor, advice, yes
TO_TICKET = ["1", "1", "3", "Hij praat alleen nog over die groep.", "1", "3", "1", "5", "10", "7", "2", "6",
             "5", "6", "2", "1"]


def chat(tmp_path: Path, lang: str, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_DATABASE_URL": ""}
    env.pop("BAKEN_DATABASE_URL")
    first_run(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--lang", lang],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def db_rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "data" / "baken.sqlite3") as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("lang", LOCALES)
def test_piped_chat_reaches_a_ticket_in_every_language(tmp_path: Path, lang: str) -> None:
    result = chat(tmp_path, lang, TO_TICKET)
    assert result.returncode == 0, result.stderr
    t = translator(lang)
    out = result.stdout
    assert t("Thank you. Your request is in the queue for a counsellor.") in out
    assert t("You are number {position} in the queue.").format(position=1) in out
    assert result.stderr == "", "nothing but the conversation"
    tickets = db_rows(tmp_path, "select status, level, priority, locale, consent_id from tickets")
    assert len(tickets) == 1 and tickets[0][0] == "waiting" and tickets[0][3] == lang
    consents = db_rows(tmp_path, "select id, consent_version from consents")
    assert consents == [(tickets[0][4], CONSENT_VERSION)]


def test_piped_chat_urgent_answer_goes_straight_to_112_and_101(tmp_path: Path) -> None:
    # … no changes ticked, no other worries, months, no explanations, then "they plan to hurt someone"
    result = chat(tmp_path, "nl", ["1", "1", "3", "1", "3", "10", "7", "2", "6", "1"])
    out = result.stdout
    answer = out.split("> 1\n")[-1]
    assert answer.lstrip().startswith(translator("nl")("If someone is in danger right now, call:"))
    assert "☎ 112" in answer and "☎ 101" in answer


def test_piped_chat_urgent_command(tmp_path: Path) -> None:
    result = chat(tmp_path, "fr", ["/urgent"])
    assert "☎ 112" in result.stdout and "☎ 101" in result.stdout


def test_forget_leaves_nothing_in_the_database(tmp_path: Path) -> None:
    result = chat(tmp_path, "en", [*TO_TICKET, "Is anyone there?", "/forget", "1"])
    assert "Everything you told me is erased" in result.stdout
    for table in ("sessions", "tickets", "consents", "ticket_messages", "ticket_events", "outbox", "inbound_seen"):
        assert db_rows(tmp_path, f"select count(*) from {table}") == [(0,)], table
    raw = (tmp_path / "data" / "baken.sqlite3").read_bytes()
    assert b"Hij praat" not in raw and b"anyone there" not in raw


SUICIDE_LINE = {"nl": ["1813"], "fr": ["0800 32 123"], "de": ["108"], "en": ["1813", "0800 32 123", "108"]}


@pytest.mark.parametrize("lang", LOCALES)
def test_danger_typed_at_the_story_brings_the_fitting_numbers_at_once(tmp_path: Path, lang: str) -> None:
    from tests.flows.test_screen import KNIFE, NO_LIFE

    t = translator(lang)
    # continue, parent, a general question, then the two messages of issue 11 (a tap on "violence" between)
    result = chat(tmp_path, lang, ["1", "1", "1", KNIFE[lang], "1", NO_LIFE[lang]])
    assert result.returncode == 0, result.stderr
    knife = result.stdout.split(f"> {KNIFE[lang]}\n")[1].split("\n> ")[0]
    assert knife.lstrip().startswith(t("If someone is in danger right now, call:")), "the numbers come first"
    assert "☎ 112" in knife and "☎ 101" in knife
    assert t("One important question: is any of this happening now?") in knife
    life = result.stdout.split(f"> {NO_LIFE[lang]}\n")[1].split("\n> ")[0]
    assert life.lstrip().startswith(t(
        "If a life is in danger right now, call 112. A suicide prevention line listens day and night, "
        "also when you worry about someone else:"))
    assert "☎ 112" in life and all(f"☎ {line}" in life for line in SUICIDE_LINE[lang])
