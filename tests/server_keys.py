"""Keys for tests: strong enough for the server's check, and never used anywhere else."""

from __future__ import annotations

from pathlib import Path

from bot.server_key import create_key

TEST_KEY = "test-only-Key-0123456789-abcdefghij-KLMNOPQRST-uvwxyz"


def first_run(data_dir: Path) -> Path:
    """What `baken keys init` does for a new data folder (as `make run` runs it), for spawned servers."""
    path = data_dir / "secret.key"
    if not path.exists():
        create_key(path)
    return path
