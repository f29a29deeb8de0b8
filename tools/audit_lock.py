"""Check every pin of the lock against published advisories, and fail when one is past SECURITY.md's time frame.

    python -m tools.audit_lock --advisories PyPI-all.zip          # `make audit ADVISORIES=…`

The advisories are OSV records of the PyPI ecosystem (https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip
— GitHub's and PyPA's advisories in one file, fetched by the release job, which has the network the build machine
lacks), as that zip or a folder of `.json` files. No network is used here: the check reads the lock and the records.

Time frames (SECURITY.md, ASVS 15.1.1), counted from the advisory's publication: critical (CVSS 9.0+) 72 hours,
high (7.0–8.9) 14 days, medium and low the next release. A record whose severity cannot be read counts as high.

Exit status: 0 when no pin is past its time frame; 1 when one is (with `--release`, any affected pin with a fixed
version counts: medium and low are due at the release); 2 when no advisory could be read, so a missing or empty
feed never passes for a clean lock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
#: SECURITY.md's table: how long a fix may take, by severity (None: with the next release)
TIME_FRAMES: dict[str, dt.timedelta | None] = {
    "critical": dt.timedelta(hours=72), "high": dt.timedelta(days=14), "medium": None, "low": None}
_GHSA_LEVELS = {"CRITICAL": "critical", "HIGH": "high", "MODERATE": "medium", "MEDIUM": "medium", "LOW": "low"}


@dataclass(frozen=True, slots=True)
class Finding:
    package: str
    version: str
    advisory: str
    severity: str
    published: dt.datetime
    fixed: tuple[str, ...]

    def due(self) -> dt.datetime | None:
        frame = TIME_FRAMES[self.severity]
        return None if frame is None else self.published + frame

    def overdue(self, now: dt.datetime, release: bool) -> bool:
        due = self.due()
        if due is None:
            return release and bool(self.fixed)
        return now > due


def read_lock(path: Path = LOCK) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def read_advisories(source: Path) -> Iterator[dict[str, Any]]:
    """OSV records from an OSV zip or a folder of JSON files; unreadable entries are skipped."""
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            record = _load(path.read_bytes())
            if record is not None:
                yield record
        return
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            if name.endswith(".json"):
                record = _load(archive.read(name))
                if record is not None:
                    yield record


def _load(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("id"), str) else None


def cvss3_base_score(vector: str) -> float | None:
    """The CVSS 3.x base score of a vector string (FIRST's specification), or None when it is not one."""
    if not vector.startswith("CVSS:3."):
        return None
    metrics = dict(part.split(":", 1) for part in vector.split("/")[1:] if ":" in part)
    try:
        changed = metrics["S"] == "C"
        impact_of = {"H": 0.56, "L": 0.22, "N": 0.0}
        iss = 1 - (1 - impact_of[metrics["C"]]) * (1 - impact_of[metrics["I"]]) * (1 - impact_of[metrics["A"]])
        exploitability = (8.22 * {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[metrics["AV"]]
                          * {"L": 0.77, "H": 0.44}[metrics["AC"]]
                          * ({"N": 0.85, "L": 0.68, "H": 0.5} if changed else {"N": 0.85, "L": 0.62, "H": 0.27})[
                              metrics["PR"]]
                          * {"N": 0.85, "R": 0.62}[metrics["UI"]])
    except KeyError:
        return None
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    total = min(1.08 * (impact + exploitability) if changed else impact + exploitability, 10.0)
    return _round_up(total)


def _round_up(value: float) -> float:
    scaled = round(value * 100_000)
    return scaled / 100_000.0 if scaled % 10_000 == 0 else (math.floor(scaled / 10_000) + 1) / 10.0


def severity(record: dict[str, Any]) -> str:
    """critical, high, medium or low: the advisory's own level, else its CVSS 3 score, else high."""
    own = (record.get("database_specific") or {}).get("severity")
    if isinstance(own, str) and own.upper() in _GHSA_LEVELS:
        return _GHSA_LEVELS[own.upper()]
    for entry in record.get("severity") or []:
        score = cvss3_base_score(str(entry.get("score", ""))) if isinstance(entry, dict) else None
        if score is not None:
            return "critical" if score >= 9.0 else "high" if score >= 7.0 else "medium" if score >= 4.0 else "low"
    return "high"


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(affected: dict[str, Any], version: str) -> bool:
    """Whether one `affected` entry covers the version: listed, or inside an ECOSYSTEM range."""
    if version in (affected.get("versions") or []):
        return True
    mine = _version(version)
    if mine is None:
        return False
    for span in affected.get("ranges") or []:
        if not isinstance(span, dict) or span.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        inside = False
        for kind, at in _ordered(span.get("events") or []):
            if at is not None and at > mine:
                break  # events above this version say nothing about it
            if kind == "introduced":
                inside = True
            elif kind == "fixed" or (kind == "last_affected" and at is not None and at < mine):
                inside = False
        if inside:
            return True
    return False


def _ordered(events: Iterable[Any]) -> list[tuple[str, Version | None]]:
    """Events by version ("introduced: 0" first), so a range reads from the bottom up."""
    out: list[tuple[str, Version | None]] = []
    for event in events:
        if not isinstance(event, dict) or len(event) != 1:
            continue
        [(kind, text)] = event.items()
        at = None if (kind == "introduced" and str(text) == "0") else _version(str(text))
        if at is not None or kind == "introduced":
            out.append((kind, at))
    return sorted(out, key=lambda e: (e[1] is not None, e[1] or Version("0")))


def _fixed_versions(affected: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(event["fixed"]) for span in affected.get("ranges") or [] if isinstance(span, dict)
                 for event in span.get("events") or [] if isinstance(event, dict) and "fixed" in event)


def audit(pins: dict[str, str], records: Iterable[dict[str, Any]]) -> tuple[int, list[Finding]]:
    """How many PyPI advisories were read, and the pins they affect (withdrawn advisories left out)."""
    read = 0
    findings: list[Finding] = []
    for record in records:
        if record.get("withdrawn"):
            continue
        entries = [a for a in record.get("affected") or [] if isinstance(a, dict)
                   and (a.get("package") or {}).get("ecosystem") == "PyPI"]
        if not entries:
            continue
        read += 1
        published = _when(record.get("published") or record.get("modified"))
        for entry in entries:
            name = canonicalize_name(str(entry["package"].get("name", "")))
            version = pins.get(name)
            if version is not None and affects(entry, version):
                findings.append(Finding(name, version, record["id"], severity(record), published,
                                        _fixed_versions(entry)))
    return read, findings


def _when(text: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # no date: treated as long public, so due at once
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.audit_lock", description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=Path, required=True, help="OSV PyPI all.zip, or a folder of OSV JSON")
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--release", action="store_true", help="medium and low are due too (a release is made)")
    parser.add_argument("--now", help="ISO time to judge against (tests, re-runs); default: now")
    args = parser.parse_args(argv)
    now = _when(args.now) if args.now else dt.datetime.now(dt.UTC)
    if not args.advisories.exists():
        print(f"no advisories at {args.advisories}: nothing was checked", file=sys.stderr)
        return 2
    pins = read_lock(args.lock)
    read, findings = audit(pins, read_advisories(args.advisories))
    if read == 0:
        print(f"no PyPI advisory could be read from {args.advisories}: nothing was checked", file=sys.stderr)
        return 2
    late = [f for f in findings if f.overdue(now, args.release)]
    print(f"{len(pins)} pins checked against {read} PyPI advisories: {len(findings)} affect the lock, "
          f"{len(late)} past their time frame")
    for f in sorted(findings, key=lambda f: (not f.overdue(now, args.release), f.package, f.advisory)):
        due = f.due()
        status = ("PAST DUE" if f.overdue(now, args.release) else
                  f"due {due:%Y-%m-%d %H:%M} UTC" if due else "due with the next release")
        fixed = ", ".join(f.fixed) or "no fixed release yet"
        print(f"  {f.package}=={f.version}  {f.advisory}  {f.severity}  published {f.published:%Y-%m-%d}  "
              f"fixed in {fixed}  {status}")
    return 1 if late else 0


if __name__ == "__main__":
    raise SystemExit(main())
