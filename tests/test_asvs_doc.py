"""docs/asvs-l2.md stays true: every test it names exists, every requirement of ASVS 5.0.0 L1+L2 has one row,
and the counts it prints are the counts of its rows."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "asvs-l2.md"
STATUSES = {"covered", "doc", "design", "**gap**", "N/A"}
#: requirements at level 1 or 2 per chapter in ASVS 5.0.0 (its CSV, column L in 1, 2)
ASVS_L2 = {1: 27, 2: 11, 3: 19, 4: 10, 5: 9, 6: 35, 7: 18, 8: 7, 9: 7, 10: 29, 11: 14, 12: 9, 13: 13, 14: 9,
           15: 13, 16: 16, 17: 7}
_ROW = re.compile(r"^\| v5\.0\.0-(\d+)\.(\d+)\.(\d+) \| ([12]) \| (.*)$")
_CITE = re.compile(r"`tests/([\w/]+\.py)::(\w+)`( \(branch [\w-]+\))?")


def rows() -> list[tuple[int, str, list[str]]]:
    """(chapter, status, cells after the level) of every requirement row."""
    out = []
    for line in DOC.read_text().splitlines():
        m = _ROW.match(line)
        if m:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", m[5])[:-1]]
            out.append((int(m[1]), cells[1] if len(cells) > 1 else "N/A", cells))
    return out


def test_every_cited_test_exists() -> None:
    text = DOC.read_text()
    cited = _CITE.findall(text)
    assert len(cited) > 50
    missing = []
    for path, name, branch in cited:
        if branch:
            continue  # on a branch not merged yet; after the merge, drop the marker and this checks it too
        source = ROOT / "tests" / path
        if not source.exists() or not re.search(rf"^(async )?def {name}\(", source.read_text(), re.M):
            missing.append(f"tests/{path}::{name}")
    assert not missing, f"docs/asvs-l2.md names tests that do not exist: {missing}"


def test_every_requirement_has_one_row_with_a_known_status() -> None:
    found = rows()
    ids = re.findall(r"^\| v5\.0\.0-(\d+\.\d+\.\d+) \|", DOC.read_text(), re.M)
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert Counter(chapter for chapter, _, _ in found) == Counter(ASVS_L2)
    assert {status for _, status, _ in found} <= STATUSES
    covered_without_test = [cells for _, status, cells in found if status == "covered" and "`tests/" not in cells[-1]]
    assert not covered_without_test, "a row is 'covered' only with a test named"


def test_the_printed_counts_are_the_counts_of_the_rows() -> None:
    text = DOC.read_text()
    found = rows()
    per: dict[int, Counter[str]] = {}
    for chapter, status, _ in found:
        per.setdefault(chapter, Counter())[status] += 1
    for chapter, c in per.items():
        applicable = sum(c.values()) - c["N/A"]
        line = re.search(rf"^\| \[V{chapter} [^]]+\]\([^)]+\) \| (.*) \|$", text, re.M)
        assert line is not None, f"V{chapter} is in the totals table"
        numbers = [int(x) for x in line[1].split(" | ")]
        assert numbers == [sum(c.values()), c["N/A"], applicable, c["covered"], c["doc"], c["design"],
                           c["**gap**"]], f"V{chapter} totals"
        if applicable:
            assert (f"{sum(c.values())} at L1+L2: {applicable} applicable ({c['covered']} covered by a test, "
                    f"{c['doc']} documented, {c['design']} by design, {c['**gap**']} gap), {c['N/A']} N/A.") in text
    everything = sum(per.values(), Counter())
    na, gaps = everything["N/A"], everything["**gap**"]
    assert (f"Of {sum(everything.values())} requirements at L1+L2, {na} do not apply; of the "
            f"{sum(everything.values()) - na} that do, {everything['covered']} are covered by a") in " ".join(
        text.split())
    assert f"**{gaps} are gaps**" in text


def test_security_md_quotes_the_same_totals() -> None:
    found = rows()
    c = Counter(status for _, status, _ in found)
    security = " ".join((ROOT / "SECURITY.md").read_text().split())
    m = re.search(r"\((\d+)\) to what Baken does .*? (\d+) do not apply .*? of the (\d+) that do, (\d+) are covered by "
                  r"a test, (\d+) by a document and (\d+) by design, and (\d+) are gaps", security)
    assert m is not None, "SECURITY.md points to docs/asvs-l2.md with its totals"
    assert [int(x) for x in m.groups()] == [len(found), c["N/A"], len(found) - c["N/A"], c["covered"], c["doc"],
                                            c["design"], c["**gap**"]]
