"""The lock and pyproject.toml agree, and the environment the tests run in is exactly the lock.

A range in pyproject.toml lets a fresh install pick up tomorrow's release (babel 2.19 once broke the catalog
test that way); the lock is what Baken runs and tests on, so a dependency added to one and not the other
must fail here, before it reaches CI.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
LOCK = ROOT / "requirements.lock.txt"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$")
DIRECT = "baken (pyproject.toml)"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: int
    direct: bool


def parse_lock(text: str) -> dict[str, Pin]:
    """Pins by canonical name, with whether the project itself asks for them (uv's `# via` notes)."""
    pins: dict[str, Pin] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        first = block.splitlines()[0] if block.strip() else ""
        match = PIN.match(first)
        if not match:
            continue
        name = canonicalize_name(match["name"])
        notes = [line.strip(" #") for line in block.splitlines() if line.lstrip().startswith("#")]
        via = [note.removeprefix("via").strip() for note in notes]
        pins[name] = Pin(
            name=name,
            version=match["version"],
            marker=(match["marker"] or "").strip() or None,
            hashes=block.count("--hash=sha256:"),
            direct=DIRECT in via,
        )
    return pins


def project_requirements(pyproject: str) -> list[Requirement]:
    project = tomllib.loads(pyproject)["project"]
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    return [Requirement(line) for line in wanted]


def disagreements(pyproject: str, lock: str) -> list[str]:
    """Every way in which the lock does not answer pyproject.toml, in words a developer can act on."""
    pins = parse_lock(lock)
    wanted = {canonicalize_name(r.name): r for r in project_requirements(pyproject)}
    problems = []
    for name, req in sorted(wanted.items()):
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{req.name}: in pyproject.toml, not in the lock")
        elif not req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{req.name}: the lock pins {pin.version}, outside pyproject's {req.specifier}")
        elif not pin.direct:
            problems.append(f"{req.name}: in pyproject.toml, but the lock was compiled without it")
    for name, pin in sorted(pins.items()):
        if pin.direct and name not in wanted:
            problems.append(f"{name}: in the lock as the project's own, no longer in pyproject.toml")
        if pin.hashes == 0:
            problems.append(f"{name}: pinned without a hash")
    return problems


def test_the_lock_answers_pyproject() -> None:
    problems = disagreements((ROOT / "pyproject.toml").read_text(), LOCK.read_text())
    assert problems == [], "run `make lock`, then `make test`:\n" + "\n".join(problems)


def test_a_dependency_added_to_one_side_only_is_caught() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    lock = LOCK.read_text()
    added = pyproject.replace('dependencies = [\n', 'dependencies = [\n  "simplejson>=3",\n', 1)
    assert disagreements(added, lock) == ["simplejson: in pyproject.toml, not in the lock"]
    dropped = pyproject.replace('  "segno>=1.6,<2",\n', "")
    assert disagreements(dropped, lock) == ["segno: in the lock as the project's own, no longer in pyproject.toml"]
    narrowed = re.sub(r'"babel>=[^"]+"', '"babel>=99"', pyproject)
    assert disagreements(narrowed, lock)[0].startswith("babel: the lock pins ")


def test_every_pin_applies_to_the_supported_pythons() -> None:
    """The lock is universal: each supported Python finds the project's own dependencies in it."""
    pins = parse_lock(LOCK.read_text())
    for python in ("3.11", "3.12", "3.13"):
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        for req in project_requirements((ROOT / "pyproject.toml").read_text()):
            pin = pins[canonicalize_name(req.name)]
            assert pin.marker is None or Marker(pin.marker).evaluate(env), (python, pin)


def test_this_environment_is_exactly_the_lock() -> None:
    """`make test` installs the lock and nothing else; a stray or drifted package would show here."""
    pins = parse_lock(LOCK.read_text())
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if installed.get("baken") is None:
        pytest.skip("Baken is not installed in this environment (the tests run from a bare checkout)")
    drifted = [
        f"{name}: locked {pin.version}, installed {installed.get(name)}"
        for name, pin in pins.items()
        if (pin.marker is None or Marker(pin.marker).evaluate()) and installed.get(name) != pin.version
    ]
    extra = sorted(set(installed) - set(pins) - {"baken", "pip"})
    assert drifted == [] and extra == [], f"run `make install`: drifted {drifted}, not in the lock {extra}"
