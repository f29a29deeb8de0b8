"""Print the part of requirements.lock.txt that Baken needs at run time, hashes and markers untouched.

The lock holds the app and its dev tools (pytest, playwright, mypy, uv ...). A server image needs only
the app: this keeps every entry reachable from `[project] dependencies` in pyproject.toml through the
lock's own `# via` annotations, so the image installs exactly the versions and hashes CI tested, with
`pip install --require-hashes --no-deps`, and nothing it does not run. Standard library only: it runs in
the build stage before anything is installed.

    python deploy/runtime_lock.py requirements.lock.txt pyproject.toml > requirements.runtime.txt
    python deploy/runtime_lock.py requirements.lock.txt pyproject.toml --only setuptools wheel > build.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROJECT = "baken"
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(lock_text: str) -> dict[str, tuple[str, set[str]]]:
    """name → (the entry's lines, the packages that pull it in)."""
    out: dict[str, tuple[str, set[str]]] = {}
    block: list[str] = []

    def close() -> None:
        if not block:
            return
        match = _NAME.match(block[0])
        if match is None:
            raise ValueError(f"cannot read the lock entry {block[0]!r}")
        parents: set[str] = set()
        via = [line.strip().lstrip("#").strip() for line in block if line.strip().startswith("#")]
        for note in via:
            note = note.removeprefix("via").strip()
            if note:
                parents.add(normalise(note.split(" ")[0]))
        out[normalise(match.group(1))] = ("\n".join(block), parents)

    for line in lock_text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            close()
            block = [line]
        elif block:
            block.append(line)
    close()
    return out


def runtime_roots(pyproject_text: str) -> set[str]:
    deps = tomllib.loads(pyproject_text)["project"]["dependencies"]
    roots = set()
    for dep in deps:
        match = _NAME.match(dep)
        if match is None:
            raise ValueError(f"cannot read the dependency {dep!r}")
        roots.add(normalise(match.group(1)))
    return roots


def runtime_entries(lock_text: str, pyproject_text: str) -> list[str]:
    found = entries(lock_text)
    roots = runtime_roots(pyproject_text)
    missing = roots - found.keys()
    if missing:
        raise ValueError(f"the lock lacks {sorted(missing)}: run `make lock`")
    keep = set(roots)
    changed = True
    while changed:  # a package is needed when something needed pulls it in
        changed = False
        for name, (_, parents) in found.items():
            if name not in keep and parents & keep:
                keep.add(name)
                changed = True
    return [found[name][0] for name in sorted(keep)]


def named_entries(lock_text: str, names: list[str]) -> list[str]:
    """The entries of `names` alone (build tools such as setuptools and wheel, which need nothing else)."""
    found = entries(lock_text)
    missing = {normalise(n) for n in names} - found.keys()
    if missing:
        raise ValueError(f"the lock lacks {sorted(missing)}")
    return [found[normalise(n)][0] for n in names]


def main(argv: list[str]) -> int:
    lock, pyproject = (Path(a) for a in argv[1:3])
    if argv[3:4] == ["--only"]:
        print("\n".join(named_entries(lock.read_text(encoding="utf-8"), argv[4:])))
        return 0
    chosen = runtime_entries(lock.read_text(encoding="utf-8"), pyproject.read_text(encoding="utf-8"))
    print(f"# the run-time part of {lock.name}, chosen by deploy/runtime_lock.py")
    print("\n".join(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
