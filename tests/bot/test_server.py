"""`baken serve` answers on its port with the embedded defaults: no tokens, SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Served:
    port: int
    data: Path
    proc: subprocess.Popen[str]

    def get(self, path: str) -> str:
        """GET once the server listens (it applies migrations first)."""
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=1) as r:
                    return str(r.read().decode())
            except OSError:
                time.sleep(0.1)  # a separate process: polling its port is the only signal it gives
        raise AssertionError(f"no answer on {path}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_PORT": str(port)}
    init = subprocess.run([sys.executable, "-m", "bot.cli", "keys", "init"], env=env, capture_output=True, text=True)
    assert init.returncode == 0 and "created a new server key" in init.stdout, init.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        yield Served(port, tmp_path / "data", proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=10)


def test_serve_answers_health_and_says_telegram_is_off(served: Served) -> None:
    assert '"status": "ok"' in served.get("/healthz")
    secret = served.data / "secret.key"
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    served.proc.terminate()
    _, err = served.proc.communicate(timeout=10)
    assert "Telegram is off" in err
    access = [line for line in err.splitlines() if "GET /healthz" in line]
    assert access and all("127.0.0.1" not in line and "Python-urllib" not in line for line in access), (
        "the access log names no client"
    )


def test_privacy_page_and_content_status_are_served(served: Served) -> None:
    fr = served.get("/privacy?lang=fr")
    assert "/forget" in fr and "<html lang=fr>" in fr
    assert "<html lang=de>" in served.get("/privacy?lang=de")
    status = served.get("/content-status")
    assert "contacts were reviewed against their sources" in status
    assert "not yet confirmed with the service itself" in status  # nobody has phoned a service yet
    assert "community-help-service" in status
