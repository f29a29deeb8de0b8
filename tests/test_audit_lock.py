"""`make audit`: the lock against OSV advisories and SECURITY.md's time frames (ASVS 15.2.1), on made-up records
in OSV's own format (the real feed is fetched by the release job; this machine cannot reach it)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tools.audit_lock import cvss3_base_score, main, read_lock

NOW = "2026-11-27T12:00:00Z"
PINS = read_lock()
AIOHTTP = PINS["aiohttp"]


def _record(ident: str, package: str, *, published: str, events: list[dict[str, str]] | None = None,
            versions: list[str] | None = None, level: str | None = "CRITICAL", vector: str | None = None,
            withdrawn: str | None = None) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": package}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    record: dict[str, Any] = {"id": ident, "published": published, "modified": published, "affected": [affected]}
    if level:
        record["database_specific"] = {"severity": level}
    if vector:
        record["severity"] = [{"type": "CVSS_V3", "score": vector}]
    if withdrawn:
        record["withdrawn"] = withdrawn
    return record


def _feed(tmp_path: Path, *records: dict[str, Any]) -> Path:
    folder = tmp_path / "osv"
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        (folder / f"{r['id']}.json").write_text(json.dumps(r))
    return folder


def _run(feed: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--advisories", str(feed), "--now", NOW, *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_critical_advisory_on_a_pin_fails_once_its_72_hours_are_over(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    later = f"{int(AIOHTTP.split('.')[0]) + 1}.0.0"
    old = _record("GHSA-old", "AIOHTTP", published="2026-11-23T12:00:00Z",
                  events=[{"introduced": "0"}, {"fixed": later}])
    code, out = _run(_feed(tmp_path, old), capsys)
    assert code == 1 and "GHSA-old" in out and "PAST DUE" in out and f"fixed in {later}" in out

    fresh = _record("GHSA-fresh", "aiohttp", published="2026-11-26T12:00:00Z",
                    events=[{"introduced": "0"}, {"fixed": later}])
    code, out = _run(_feed(tmp_path / "b", fresh), capsys)
    assert code == 0 and "GHSA-fresh" in out and "due 2026-11-29 12:00 UTC" in out


def test_fixed_below_the_pin_withdrawn_or_another_range_does_not_count(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        _record("GHSA-fixed", "aiohttp", published="2020-01-01T00:00:00Z",
                events=[{"introduced": "0"}, {"fixed": "3.0.0"}]),
        _record("GHSA-gone", "aiohttp", published="2020-01-01T00:00:00Z", versions=[AIOHTTP],
                withdrawn="2020-02-01T00:00:00Z"),
        _record("GHSA-later", "aiohttp", published="2020-01-01T00:00:00Z",
                events=[{"introduced": "0"}, {"fixed": "1.0"}, {"introduced": "99.0"}, {"fixed": "99.1"}]),
        _record("GHSA-other", "not-in-the-lock", published="2020-01-01T00:00:00Z", versions=["1.0"]),
    ]
    code, out = _run(_feed(tmp_path, *records), capsys)
    assert code == 0, out
    assert "3 PyPI advisories" in out and "0 affect the lock" in out, "the withdrawn one is not counted"


def test_medium_waits_for_the_release_and_severity_comes_from_cvss_when_unnamed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    medium = _record("PYSEC-medium", "aiohttp", published="2026-01-01T00:00:00Z", level=None,
                     vector="CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
                     events=[{"introduced": "0"}, {"last_affected": AIOHTTP}, {"fixed": "999.0"}])
    feed = _feed(tmp_path, medium)
    code, out = _run(feed, capsys)
    assert code == 0 and "medium" in out and "due with the next release" in out
    code, out = _run(feed, capsys, "--release")
    assert code == 1 and "PAST DUE" in out


def test_an_empty_or_missing_feed_never_passes_for_a_clean_lock(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "junk.json").write_text("not json")
    assert _run(empty, capsys)[0] == 2
    code, out = _run(tmp_path / "nowhere.zip", capsys)
    assert code == 2 and "nothing was checked" in out


def test_the_osv_zip_is_read_as_published(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("GHSA-zip.json", json.dumps(_record(
            "GHSA-zip", "cryptography", published="2026-11-01T00:00:00Z", level="HIGH",
            versions=[PINS["cryptography"]])))
    code, out = _run(archive, capsys)
    assert code == 1 and "GHSA-zip" in out and "high" in out


def test_cvss3_scores_match_firsts_calculator() -> None:
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") == 10.0
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N") == 4.2
    assert cvss3_base_score("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N") == 5.5
    assert cvss3_base_score("CVSS:4.0/AV:N") is None


def test_the_lock_is_read_whole() -> None:
    text = Path("requirements.lock.txt").read_text()
    assert len(PINS) == sum(1 for line in text.splitlines() if "==" in line and not line.startswith("#")) > 50
