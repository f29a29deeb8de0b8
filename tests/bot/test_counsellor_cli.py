"""`baken counsellor …` as an administrator types it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.server_keys import first_run


def baken(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env["BAKEN_DATA_DIR"] = str(tmp_path / "data")
    first_run(tmp_path / "data")
    return subprocess.run([sys.executable, "-m", "bot.cli", "counsellor", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_add_prints_the_enrolment_qr_and_recovery_codes_then_list_disable_reset(tmp_path: Path) -> None:
    added = baken(tmp_path, "add", "anna", "--role", "counsellor", "--languages", "nl,fr", "--alias", "Anna",
                  "--password-stdin", stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    assert "█" in added.stdout, "the QR code is drawn in the terminal"
    secret = re.search(r"type the key: ([A-Z2-7]{32})", added.stdout)
    codes = re.findall(r"^  ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", added.stdout, re.MULTILINE)
    assert secret is not None and len(codes) == 10
    assert "a long enough password" not in added.stdout

    again = baken(tmp_path, "add", "anna", "--role", "counsellor", "--languages", "nl", "--password-stdin",
                  stdin="a long enough password\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    weak = baken(tmp_path, "add", "bob", "--role", "counsellor", "--languages", "nl", "--password-stdin",
                 stdin="short\n")
    assert weak.returncode == 2 and "12 characters" in weak.stderr
    bad = baken(tmp_path, "add", "bob", "--role", "counsellor", "--languages", "nl,es", "--password-stdin",
                stdin="a long enough password\n")
    assert bad.returncode == 2 and "languages" in bad.stderr

    reset = baken(tmp_path, "reset-2fa", "anna")
    assert reset.returncode == 0 and secret[1] not in reset.stdout
    assert baken(tmp_path, "disable", "anna").returncode == 0
    listed = baken(tmp_path, "list").stdout
    assert re.search(r"anna\s+Anna\s+counsellor\s+nl,fr\s+disabled", listed)
    assert "bob" not in listed


def test_sign_out_ends_one_accounts_sessions_or_everyones(tmp_path: Path) -> None:
    added = baken(tmp_path, "add", "anna", "--role", "counsellor", "--languages", "nl", "--password-stdin",
                  stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    one = baken(tmp_path, "sign-out", "anna")
    assert one.returncode == 0 and "sessions of 'anna' are ended" in one.stdout, one.stderr
    everyone = baken(tmp_path, "sign-out", "--all")
    assert everyone.returncode == 0 and "Every dashboard session is ended." in everyone.stdout, everyone.stderr
    for wrong in (("sign-out",), ("sign-out", "anna", "--all"), ("sign-out", "nobody")):
        answer = baken(tmp_path, *wrong)
        assert answer.returncode == 2 and answer.stderr, wrong
    listed = baken(tmp_path, "list")
    assert "active" in listed.stdout, "signing out disables nothing"


def test_add_and_reset_password_hand_out_one_time_passwords_and_refuse_weak_typed_ones(tmp_path: Path) -> None:
    """ASVS 6.4.1, 6.4.3: a random one-time password unless the administrator types one, which must pass the
    new-password rules; reset-password keeps the second factor."""
    added = baken(tmp_path, "add", "anna", "--role", "counsellor", "--languages", "nl")
    assert added.returncode == 0, added.stderr
    first = re.search(r"One-time password for 'anna' .*: ([a-z2-9]{4}(?:-[a-z2-9]{4}){3})$", added.stdout, re.M)
    assert first is not None and "It works once, for 72 hours" in added.stdout
    secret = re.search(r"type the key: ([A-Z2-7]{32})", added.stdout)
    assert secret is not None

    common = baken(tmp_path, "add", "bob", "--role", "counsellor", "--languages", "nl", "--password-stdin",
                   stdin="qwerty123456\n")
    assert common.returncode == 2 and "most common" in common.stderr
    named = baken(tmp_path, "add", "bob", "--role", "counsellor", "--languages", "nl", "--password-stdin",
                  stdin="Baken helpline 2026\n")
    assert named.returncode == 2 and "'baken'" in named.stderr

    reset = baken(tmp_path, "reset-password", "anna")
    assert reset.returncode == 0, reset.stderr
    again = re.search(r"One-time password for 'anna' .*: (\S+)$", reset.stdout, re.M)
    assert again is not None and again[1] != first[1]
    assert "second factor is unchanged" in reset.stdout and secret[1] not in reset.stdout
    typed = baken(tmp_path, "reset-password", "anna", "--password-stdin", stdin="a long enough password\n")
    assert typed.returncode == 0 and "One-time password" not in typed.stdout and "It works once" in typed.stdout
    assert baken(tmp_path, "reset-password", "nobody").returncode == 2
