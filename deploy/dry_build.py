"""Run the build stage of deploy/Containerfile on this machine, without a container engine.

Where no Docker or Podman daemon is available (as on the development machine the lead used), this still
proves the stage's commands work: it follows the first stage's WORKDIR, ENV, COPY and RUN lines in a
scratch folder, with /opt/... and /wheels mapped into it, on this machine's Python (3.11 expected).

    python deploy/dry_build.py            # prints each step; exit 0 when the stage completes
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage_one(text: str) -> list[tuple[str, str]]:
    """(instruction, argument) of the first stage, continuation lines joined."""
    steps: list[tuple[str, str]] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        logical += line.removesuffix("\\") + (" " if line.endswith("\\") else "")
        if line.endswith("\\"):
            continue
        word, _, rest = logical.strip().partition(" ")
        logical = ""
        if word.upper() == "FROM" and steps:
            break
        steps.append((word.upper(), rest.strip()))
    return steps


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="baken-dry-build-"))
    mapping = {"/opt/": f"{scratch}/opt/", "/wheels": f"{scratch}/wheels"}
    work = scratch
    env = dict(os.environ)
    try:
        for word, arg in stage_one((ROOT / "deploy" / "Containerfile").read_text()):
            for old, new in mapping.items():
                arg = arg.replace(old, new)
            print(f"--> {word} {arg[:150]}", flush=True)
            if word == "WORKDIR":
                work = scratch / arg.lstrip("/")
                work.mkdir(parents=True, exist_ok=True)
            elif word == "ENV":
                for pair in shlex.split(arg):
                    key, _, value = pair.partition("=")
                    env[key] = value
            elif word == "COPY":
                *sources, dest = shlex.split(arg)
                for src in sources:
                    into_folder = dest.endswith("/") or len(sources) > 1
                    target = work / dest / Path(src).name if into_folder else work / dest
                    if (ROOT / src).is_dir():
                        shutil.copytree(ROOT / src, target, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / src, target)
            elif word == "RUN":
                subprocess.run(["sh", "-ec", arg], cwd=work, env=env, check=True)
        print(f"the build stage completed in {scratch}")
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"the build stage failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
