"""Every interface string exists in nl, fr, de and en, with the same placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from content.coverage import coverage
from content.i18n import LOCALE_DIR, LOCALES, translator

FIELD = re.compile(r"\{(\w*)\}")


def _template_ids() -> set[str]:
    with (LOCALE_DIR / "messages.pot").open("rb") as fh:
        return {str(m.id) for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_is_translated(locale: str) -> None:
    _done, total, missing = coverage()[locale]
    assert missing == [], f"{locale}: {len(missing)} untranslated, e.g. {missing[:3]}"
    assert total >= len(_template_ids())


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_holds_every_string_the_code_uses(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        ids = {str(m.id) for m in read_po(fh, locale=locale) if m.id}
    assert _template_ids() <= ids, "run `make messages` after adding strings"


@pytest.mark.parametrize("locale", ["nl", "fr", "de"])
def test_translations_keep_placeholders_and_differ_from_english(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    for m in catalog:
        if not m.id:
            continue
        assert sorted(FIELD.findall(str(m.id))) == sorted(FIELD.findall(str(m.string))), m.id


def test_the_running_code_reads_the_translations() -> None:
    assert translator("nl")("What brings you here?") != "What brings you here?"
    assert translator("fr")("Continue") != "Continue"
    assert translator("de")("Skip") != "Skip"


def test_the_template_holds_every_string_in_the_code() -> None:
    """A string added to the code but not extracted would reach people in English only."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).parents[2]
    keywords = {"N_": None, "t": None}
    found: set[str] = set()
    for package in ("bot", "flows", "handover", "content"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / package, method_map=[("**.py", "python")], keywords=keywords
        ):
            if isinstance(message, str) and message:
                found.add(message)
    missing = found - _template_ids()
    assert not missing, (
        f"{len(missing)} string(s) marked with t()/N_() are not in content/locales/messages.pot: "
        f"{sorted(missing)[:5]}. If you added them, run `make messages`. If they are not interface texts, "
        "a local name shadows a gettext keyword (see test_no_name_shadows_a_gettext_keyword)."
    )


GETTEXT_KEYWORDS = frozenset({"t", "N_", "_"})


def _shadowing(tree: ast.AST) -> list[tuple[int, str]]:
    """Bindings of a gettext keyword to anything but a translator, and reads of one as a container."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            value = node.value
            translator_call = (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "translator"
            ) or (isinstance(value, ast.Attribute) and value.attr == "t")  # `t = conversation.t`
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in GETTEXT_KEYWORDS and not translator_call:
                    found.append((node.lineno, f"{target.id} = ..."))
        elif isinstance(node, ast.arg) and node.arg in ("t", "N_"):
            annotation = ast.unparse(node.annotation) if node.annotation else ""
            if annotation != "Translate":
                found.append((node.lineno, f"parameter {node.arg}: {annotation or 'untyped'}"))
        elif isinstance(node, ast.comprehension | ast.For) and isinstance(node.target, ast.Name):
            if node.target.id in ("t", "N_"):
                found.append((node.target.lineno, f"loop variable {node.target.id}"))
        elif isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("t", "N_"):
                found.append((node.lineno, f"{node.value.id} used as a container"))
    return found


def test_no_name_shadows_a_gettext_keyword() -> None:
    """`t` and `N_` mean "translate this" to the extractor; any other use of the names changes what it finds
    with the babel version (2.19 reads `t["trigger"]` as a message)."""
    root = Path(__file__).parents[2]
    problems = [
        f"{path.relative_to(root)}:{line}: {what}"
        for package in ("bot", "flows", "handover", "content")
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
        for line, what in _shadowing(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert problems == [], "rename these so that `t`/`N_` only ever name a translator:\n" + "\n".join(problems)


def test_the_shadowing_check_sees_the_babel_2_19_trap() -> None:
    tree = ast.parse("for t in transitions:\n    print(t['trigger'])\n")
    assert [what for _line, what in _shadowing(tree)] == ["loop variable t", "t used as a container"]
