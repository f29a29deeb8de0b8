"""`baken serve` answers on its port with the embedded defaults: no tokens, SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_and_says_telegram_is_off(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        body = b""
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.1)
        assert b'"status": "ok"' in body
        secret = tmp_path / "data" / "secret.key"
        assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Telegram is off" in err
    access = [line for line in err.splitlines() if "GET /healthz" in line]
    assert access and all("127.0.0.1" not in line and "Python-urllib" not in line for line in access), (
        "the access log names no client"
    )


def test_privacy_page_and_content_status_are_served(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        pages: dict[str, str] = {}
        for path in ("/privacy?lang=fr", "/privacy?lang=de", "/content-status"):
            for _ in range(150):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
                        pages[path] = r.read().decode()
                    break
                except OSError:
                    time.sleep(0.1)
        assert "/forget" in pages["/privacy?lang=fr"] and 'lang=fr' in pages["/privacy?lang=fr"]
        assert "<html lang=de>" in pages["/privacy?lang=de"]
        assert "contacts were verified" in pages["/content-status"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
