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


# ---- referrals: what would have caught the faults of the expert read (issue 12)


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    from content.directory import CONTACTS_DIR

    root = tmp_path / "contacts"
    shutil.copytree(CONTACTS_DIR, root)
    return root


def _drop(folder: Path, file: str, contact_id: str) -> None:
    import yaml

    path = folder / file
    entries = [e for e in yaml.safe_load(path.read_text(encoding="utf-8")) if e["id"] != contact_id]
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_worry_that_reaches_no_service_is_reported(contacts: Path) -> None:
    _drop(contacts, "flemish.yaml", "druglijn")
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), contacts_dir=contacts)
    assert any("the worry 'drugs' reaches no fitting service in nl for flanders" in p for p in problems), problems


def test_a_gap_is_accepted_only_with_a_reason(contacts: Path) -> None:
    import yaml

    path = contacts / "gaps.yaml"
    gaps = yaml.safe_load(path.read_text(encoding="utf-8"))
    for gap in gaps:
        if gap["topic"] == "violence-home":
            gap["why"] = ""
    path.write_text(yaml.safe_dump(gaps, allow_unicode=True), encoding="utf-8")
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), contacts_dir=contacts)
    assert any("the worry 'violence-home' reaches no fitting service in de for east-belgium" in p for p in problems)


def test_a_gap_that_was_closed_must_leave_the_list(contacts: Path) -> None:
    import yaml

    path = contacts / "gaps.yaml"
    gaps = yaml.safe_load(path.read_text(encoding="utf-8"))
    gaps.append({"topic": "drugs", "cases": {"flanders": ["nl"]}, "why": "written before De DrugLijn was added"})
    path.write_text(yaml.safe_dump(gaps, allow_unicode=True), encoding="utf-8")
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), contacts_dir=contacts)
    assert any("records no service for 'drugs' in nl for flanders, but one fits now" in p for p in problems)


def test_a_service_ranked_above_a_fitting_one_without_reason_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from content.directory import Directory

    original = Directory.select

    def upside_down(self: Directory, **kwargs: object) -> list[object]:
        return list(reversed(original(self, **kwargs)))  # type: ignore[arg-type]

    monkeypatch.setattr(Directory, "select", upside_down)
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23))
    assert any("comes before druglijn for the worry 'drugs' in nl" in p for p in problems), problems[:5]


def test_first_line_help_for_the_worry_comes_before_a_specialised_one(contacts: Path) -> None:
    from content.directory import Directory
    from content.postcodes import PostcodeIndex

    path = contacts / "local.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("- id: gent-team-radicalisering")
    block = text[start:].replace("  topics: [radicalisation, case-consultation, polarisation]",
                                 "  topics: [radicalisation, case-consultation, polarisation, drugs]", 1)
    path.write_text(text[:start] + block, encoding="utf-8")
    found = Directory.load(contacts).select(place=PostcodeIndex.load().get("9000"), lang="nl", audience="parent",
                                            topics=["drugs", "parenting"])
    assert [c.id for c in found[:2]] == ["druglijn", "gent-team-radicalisering"]


def test_an_article_promising_a_number_the_flow_does_not_show_is_reported(articles: Path) -> None:
    path = articles / "when-it-is-something-else" / "fr.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAppelez le 1813 si vous pensez au suicide.\n",
                    encoding="utf-8")
    problems = run_checks(stale_after_months=12, today=dt.date(2026, 11, 23), articles_dir=articles)
    assert any("promises the number 1813" in p and "fr" in p for p in problems), problems
