"""`baken content check` finds what an editor can break, and passes the shipped content."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content_check import run_checks
from content.library import ARTICLES_DIR


def test_the_shipped_content_passes() -> None:
    assert run_checks(stale_after_months=12, today=dt.date(2026, 11, 23)) == []


def test_the_command_exits_zero_and_says_so() -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "content", "check"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout
    assert "content OK" in result.stdout


def test_contacts_not_reviewed_for_too_long_are_flagged() -> None:
    problems = run_checks(stale_after_months=12, today=dt.date(2028, 1, 1))
    assert any("opvoedingslijn was last reviewed on 2026-11-23" in p for p in problems)


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, root)
    return root


def test_a_missing_translation_is_reported(articles: Path) -> None:
    (articles / "keeping-the-bond" / "de.md").unlink()
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), articles_dir=articles)
    assert "article keeping-the-bond: missing language de" in problems


def test_incomplete_front_matter_is_reported(articles: Path) -> None:
    path = articles / "keeping-the-bond" / "fr.md"
    path.write_text(path.read_text().replace("reviewed: 2026-11-23\n", ""))
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), articles_dir=articles)
    assert any("front matter misses reviewed" in p for p in problems)


def test_a_broken_link_and_an_unknown_topic_are_reported(articles: Path) -> None:
    path = articles / "keeping-the-bond" / "en.md"
    text = path.read_text().replace("topics: [dialogue]", "topics: [dialog]")
    path.write_text(text + "\nSee [this page](www.example).\n")
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), articles_dir=articles)
    assert any("link 'www.example' is not a complete https address" in p for p in problems)
    assert any("unknown topics ['dialog']" in p for p in problems)
