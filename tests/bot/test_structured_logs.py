"""Logs: JSON lines in production, text in development, a request id per web request, never a person."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.logs import REQUEST_ID, configure, wants_json
from bot.server_key import create_key
from tests.bot.test_server import free_port


def _serve_and_log(tmp_path: Path, extra: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Start `baken serve`, make a few requests, stop it; its log lines and each path's X-Request-Id."""
    port = free_port()
    keys = tmp_path / "keys"
    create_key(keys / "secret.key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_PORT": str(port),
            "BAKEN_SECRET_KEY_FILE": str(keys / "secret.key"), **extra}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True)
    ids: dict[str, str] = {}
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    ids["/healthz"] = r.headers["X-Request-Id"]
                break
            except OSError:
                time.sleep(0.1)  # a separate process: its port is the only signal
        for path in ("/readyz", "/no-such-page-3f9a1c0b3f9a1c0b3f9a"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    ids[path] = r.headers["X-Request-Id"]
            except urllib.error.HTTPError as err:
                ids[path] = err.headers["X-Request-Id"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "/healthz" in ids, err
    return [line for line in err.splitlines() if line.strip()], ids


def test_production_logs_json_lines_with_the_request_id_and_no_address(tmp_path: Path) -> None:
    lines, ids = _serve_and_log(tmp_path, {"BAKEN_ENVIRONMENT": "production"})
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "baken" and "listens on" in r["message"] for r in records)
    access = [r for r in records if r["logger"] == "aiohttp.access"]
    for path, rid in ids.items():
        assert rid and len(rid) == 12
        (line,) = [r for r in access if r.get("request_id") == rid]
        assert path.split("-3f9a")[0] in line["message"]
    assert len(set(ids.values())) == len(ids), "a fresh id per request"
    text = "\n".join(lines)
    assert "127.0.0.1" not in text.replace("http://127.0.0.1:", ""), "no client address"  # the listen line
    assert "3f9a1c0b3f9a1c0b3f9a" not in text, "hex runs that could be pseudonyms are masked"


def test_development_logs_readable_text(tmp_path: Path) -> None:
    lines, ids = _serve_and_log(tmp_path, {})
    assert not any(line.startswith("{") for line in lines)
    assert any(f"INFO aiohttp.access [{ids['/readyz']}]" in line for line in lines), lines
    assert any("INFO baken Baken listens on" in line for line in lines)


def test_the_log_format_setting_overrides_the_environment() -> None:
    assert wants_json("production", None) and wants_json("development", "json")
    assert not wants_json("development", None) and not wants_json("production", "text")
    assert wants_json("production", "nonsense"), "an unknown format falls back on the environment's"


@pytest.mark.parametrize("json_lines", [True, False])
def test_a_traceback_is_scrubbed_like_a_message(json_lines: bool) -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure(level=logging.INFO, json_lines=json_lines, stream=out)
    token = REQUEST_ID.set("a1b2c3d4e5f6")
    try:
        sid = "3f9a1c0b" * 8
        try:
            raise RuntimeError(f"session {sid} from 198.51.100.23 failed")
        except RuntimeError:
            logging.getLogger("baken.test").exception("step failed for %s", sid[:16])
    finally:
        REQUEST_ID.reset(token)
        root.handlers[:], root.level = saved[0], saved[1]
    written = out.getvalue()
    assert sid not in written and sid[:16] not in written and "198.51.100.23" not in written
    assert "RuntimeError" in written and "a1b2c3d4e5f6" in written
    if json_lines:
        record = json.loads(written)
        assert record["request_id"] == "a1b2c3d4e5f6" and "<id>" in record["exception"]


def _log_once(json_lines: bool, message: str) -> str:
    """What one INFO line through Baken's handler looks like."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure(level=logging.INFO, json_lines=json_lines, stream=out)
    try:
        logging.getLogger("baken.test").info("%s", message)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    return out.getvalue()


@pytest.mark.parametrize("json_lines", [True, False])
def test_both_formats_write_utc_times_with_their_offset(json_lines: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """ASVS 16.2.2: a reader of lines from servers in different zones can order them without guessing."""
    monkeypatch.setenv("TZ", "America/Sao_Paulo")  # a zone far from UTC: local time would show
    time.tzset()
    try:
        before = dt.datetime.now(dt.UTC)
        written = _log_once(json_lines, "started")
        after = dt.datetime.now(dt.UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = json.loads(written)["time"] if json_lines else written.split(" ", 1)[0]
    when = dt.datetime.fromisoformat(stamp)
    assert when.utcoffset() == dt.timedelta(0), stamp
    assert before - dt.timedelta(seconds=1) <= when <= after + dt.timedelta(seconds=1), stamp


@pytest.mark.parametrize("json_lines", [True, False])
def test_a_line_break_in_a_message_cannot_forge_a_log_line(json_lines: bool) -> None:
    """ASVS 16.4.1: whatever a message carries, it stays one line; the forged line never stands alone."""
    forged = "ok\n2026-01-01T00:00:00.000+00:00 INFO baken.dashboard sign-in by admin\r\n{\"level\": \"INFO\"}"
    written = _log_once(json_lines, forged)
    assert written.count("\n") == 1 and "\r" not in written, written
    if json_lines:
        assert json.loads(written)["message"] == forged, "encoded, not lost"
    else:
        assert "ok\\n2026-01-01" in written
