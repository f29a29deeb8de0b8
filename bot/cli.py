"""The `baken` command: serve, chat, db upgrade, backup and restore, content check, triage table, screen, qr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from bot.logs import configure as configure_logging
from bot.logs import wants_json
from bot.server_key import KeyProblem
from bot.settings import Settings, StartProblem
from flows.questions import DEEP_LINK_ROLES
from flows.screen.corpus import SPLITS


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_services
    from bot.channels.console import run_console
    from content.i18n import normalise_locale

    async def main() -> int:
        services = await build_services(settings)
        try:
            return await run_console(
                services.dispatcher, locale=normalise_locale(args.lang) or settings.default_locale,
                session=args.session,
            )
        finally:
            await services.close()

    return asyncio.run(main())


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import serve

    if args.port:
        settings.port = args.port
    settings.check_transport()  # production: a database across the network only over TLS (ASVS 12.3.1)
    for warning in settings.transport_warnings():
        logging.getLogger("baken").warning(warning)
    settings.secret  # noqa: B018 - a missing or weak key stops here, before the server binds its port
    logging.getLogger("baken").info("Baken listens on http://%s:%s", settings.host, settings.port)
    serve(settings)
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.schema import migrate_and_grant

    asyncio.run(migrate_and_grant(settings, args.revision))
    print(f"database at {args.revision}")
    return 0


def _db_purge(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from bot.app import open_storage
    from bot.housekeeping import describe
    from bot.storage.retention import purge

    policy, warnings = settings.retention()
    for warning in warnings:
        print(f"baken: {warning}", file=sys.stderr)

    async def main() -> dict[str, int]:
        services = await open_storage(settings)
        try:
            return await purge(services.store, dt.datetime.now(dt.UTC), policy)
        finally:
            await services.close()

    counts = asyncio.run(main())
    print(f"purged {describe(counts)}")
    return 0


def _content_check(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from bot.content_check import run_checks

    months = args.stale_months or settings.contact_stale_months
    today = dt.date.fromisoformat(args.today) if args.today else None
    problems = run_checks(stale_after_months=months, today=today)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "content OK")
    return 1 if problems else 0


def _keys_init(args: argparse.Namespace, settings: Settings) -> int:
    """The one place a key is made: only for a new installation, never over a database that has one."""
    from bot.server_key import create_key, fingerprint, read_key
    from bot.storage.database import make_engine
    from bot.storage.key_record import holds_data

    if settings.secret_key is not None:
        source = read_key(settings.secret_key, settings.key_file)
        print(f"the key comes from BAKEN_SECRET_KEY (fingerprint {fingerprint(source.secret)}): nothing to create")
        return 0
    if settings.key_file.exists():
        source = read_key(None, settings.key_file)
        print(f"a key exists at {settings.key_file} (fingerprint {fingerprint(source.secret)}): nothing to do")
        return 0

    async def has_data() -> bool:
        db = make_engine(settings.db_url)
        try:
            return await holds_data(db)
        finally:
            await db.dispose()

    sqlite_file = settings.data_dir / "baken.sqlite3"
    if (settings.database_url or sqlite_file.exists()) and asyncio.run(has_data()):
        print(
            f"baken: the database already holds data but its key {settings.key_file} is missing. Restore the "
            "key from your backup; a new key could not read what is stored.",
            file=sys.stderr,
        )
        return 1
    print(f"created a new server key at {settings.key_file} (fingerprint {create_key(settings.key_file)}).")
    print("Back it up now, apart from the database: without it nothing stored can be read.")
    return 0


def _keys_fingerprint(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server_key import fingerprint

    print(fingerprint(settings.secret))
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupProblem, backup

    try:
        manifest = backup(settings, args.out)
    except BackupProblem as problem:
        print(f"baken backup: {problem}", file=sys.stderr)
        return 1
    print(f"backed up the {manifest.backend} database to {args.out} (schema {', '.join(manifest.revisions)}; "
          f"key fingerprint {manifest.key_fingerprint}).")
    print("The server key is not in it: keep the key apart from the backups; without it they cannot be read.")
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupProblem, restore

    try:
        manifest = restore(settings, args.archive)
    except BackupProblem as problem:
        print(f"baken restore: {problem}", file=sys.stderr)
        return 1
    print(f"restored the {manifest.backend} backup of {manifest.created_at} (schema "
          f"{', '.join(manifest.revisions)}); `baken serve` applies newer migrations on start.")
    return 0


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """A new master key: every data key is re-wrapped under it while the server keeps running."""
    import os

    from bot.app import open_storage
    from bot.server_key import fingerprint, next_key_path, retired_key_path, write_next_key
    from bot.storage.data_keys import rotate

    if settings.secret_key is not None:
        print("baken keys rotate: the key comes from BAKEN_SECRET_KEY, which a running server cannot re-read. "
              "Keep the key in a file (BAKEN_SECRET_KEY_FILE) to rotate without downtime.", file=sys.stderr)
        return 2
    path = settings.key_file

    async def main() -> tuple[int, int]:
        services = await open_storage(settings)  # checks the key and re-seals rows of the older format first
        try:
            new = write_next_key(path)
            return await services.store.run(lambda s: rotate(s, services.keyring, new, fingerprint(new)))
        finally:
            await services.close()

    version, count = asyncio.run(main())
    retired = retired_key_path(path, version - 1)
    os.replace(path, retired)
    os.replace(next_key_path(path), path)
    print(f"master key version {version} is in {path} (fingerprint {fingerprint(read_new(path))}); "
          f"{count} data keys re-wrapped. Running servers take it up on their own.")
    print(f"Back up the new key now. The old key is at {retired}: it opens only backups made before now; "
          "keep it with them, offline, and destroy it when they expire.")
    return 0


def read_new(path: Path) -> bytes:
    from bot.server_key import read_key

    return read_key(None, path).secret


def _triage_table(args: argparse.Namespace, settings: Settings) -> int:
    from flows.triage import describe, load_rules

    print(describe(load_rules().rules))
    return 0


def _screen(args: argparse.Namespace, settings: Settings) -> int:
    """Try phrases in bulk (stdin, one per line → one category or `none` per line), or print the evaluation."""
    from flows.screen import LANGS, load_screen
    from flows.screen.corpus import SPLITS, TRAIN_SPLITS
    from flows.screen.evaluation import report

    untouched = {*(set(SPLITS) - TRAIN_SPLITS), "untouched", "heldout", "all"}

    screen = load_screen(with_model=not args.rules_only)
    if args.eval:
        if args.verbose and args.split in untouched and args.corpus is None:
            print(f"the {args.split} part is measured, never read: its lines are not shown (docs/danger-screen.md)",
                  file=sys.stderr)
            return 2
        langs = [args.lang] if args.lang else list(LANGS)
        try:
            print(report(screen, split=args.split, langs=langs, verbose=args.verbose, directory=args.corpus))
        except (OSError, ValueError) as err:  # a set kept outside: unreadable, or a line not in the format
            print(f"cannot measure {args.corpus}: {err}", file=sys.stderr)
            return 2
        return 0
    lang = args.lang or settings.default_locale
    try:
        for line in sys.stdin:
            hit = screen.check(line.rstrip("\n"), lang)
            if hit is None:
                print("none")
            elif args.verbose:
                print(f"{hit.category}{' soon' if hit.imminent else ''}\t{' | '.join(hit.evidence)}")
            else:
                print(hit.category)
            sys.stdout.flush()
    except BrokenPipeError:  # a reader that stopped early (`| head -3`) is no error; nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _qr(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.telegram.links import bot_username, start_link, write_qr

    name = args.bot
    if not name and settings.telegram_token:
        name = asyncio.run(bot_username(settings.telegram_token, settings.telegram_api_url))
    if not name:
        print("baken qr: give --bot NAME, or set BAKEN_TELEGRAM_TOKEN to ask Telegram", file=sys.stderr)
        return 2
    link = start_link(name, args.start)
    out = args.out or Path(f"baken-{args.start}.png")
    write_qr(link, out)
    print(f"{out}: {link}")
    return 0


def _print_enrolment(enrolment: object) -> None:
    import io

    import segno

    from bot.counsellors import Enrolment

    assert isinstance(enrolment, Enrolment)
    out = io.StringIO()
    segno.make(enrolment.uri, error="m").terminal(out=out, compact=True)
    print("Scan this with an authenticator app (e.g. FreeOTP, Aegis, Google Authenticator):")
    print(out.getvalue())
    print(f"or type the key: {enrolment.secret}")
    print("\nOne-time recovery codes (each works once, for a lost phone; keep them offline):")
    for code in enrolment.recovery_codes:
        print(f"  {code}")


def _read_password(args: argparse.Namespace) -> str | None:
    """The one-time password the administrator typed (first line of stdin), or None: Baken makes a random one."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    return None


def _print_one_time(name: str, made: str | None) -> None:
    from bot.counsellors import ONE_TIME_LIFETIME

    hours = int(ONE_TIME_LIFETIME.total_seconds() // 3600)
    if made is not None:
        print(f"One-time password for {name!r} (hand it over in person or by phone, never with the QR code): {made}")
    print(f"It works once, for {hours} hours: at the first sign-in, with the code from their app, the counsellor "
          "chooses their own password before anything else opens.")


def _counsellor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import open_storage
    from bot.counsellors import (
        AccountError,
        add_counsellor,
        disable_counsellor,
        end_sessions,
        list_counsellors,
        reset_password,
        reset_second_factor,
    )
    from handover.credentials import WeakPassword

    password = _read_password(args)

    async def main() -> int:
        services = await open_storage(settings)
        try:
            if args.counsellor_command == "add":
                enrolment = await add_counsellor(
                    services.store, services.keyring, args.name, role=args.role, languages=args.languages,
                    password=password, alias=args.alias, ui_locale=args.ui_lang,
                    password_words=settings.password_words,
                )
                print(f"Account {args.name!r} added ({args.role}; languages {args.languages}).")
                _print_enrolment(enrolment)
                _print_one_time(args.name, enrolment.password)
            elif args.counsellor_command == "reset-password":
                made = await reset_password(services.store, args.name, password=password,
                                            password_words=settings.password_words)
                print(f"New one-time password for {args.name!r}; their old password and sessions no longer work. "
                      "Their second factor is unchanged: they still need the code from their app.")
                _print_one_time(args.name, made)
            elif args.counsellor_command == "disable":
                await disable_counsellor(services.store, args.name)
                print(f"Account {args.name!r} disabled; its sessions are ended.")
            elif args.counsellor_command == "sign-out":
                if (args.name is None) == (not args.all):
                    print("baken counsellor sign-out: name one account, or --all", file=sys.stderr)
                    return 2
                await end_sessions(services.store, None if args.all else args.name)
                print("Every dashboard session is ended." if args.all
                      else f"The sessions of {args.name!r} are ended; the account stays active.")
            elif args.counsellor_command == "reset-2fa":
                enrolment = await reset_second_factor(services.store, services.keyring, args.name)
                print(f"New second factor for {args.name!r}; the old app entry and codes no longer work.")
                _print_enrolment(enrolment)
            else:
                rows = await list_counsellors(services.store)
                for c in rows:
                    state = "disabled" if c.disabled_at else "active"
                    print(f"{c.name:<20} {c.alias:<20} {c.role:<11} {c.languages:<12} {state}")
                if not rows:
                    print("no accounts yet: baken counsellor add NAME --role counsellor --languages nl,fr")
            return 0
        except (AccountError, WeakPassword) as exc:
            print(f"baken counsellor: {exc}", file=sys.stderr)
            return 2
        finally:
            await services.close()

    return asyncio.run(main())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="baken", description="Baken: anonymous chat and helpline triage")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server (web chat, dashboard, Telegram when configured)")
    s.add_argument("--port", type=int, default=None)
    s.set_defaults(func=_serve)
    c = sub.add_parser("chat", help="talk to the bot in this terminal (input may be piped)")
    c.add_argument("--lang", default=None, help="nl, fr, de or en")
    c.add_argument("--session", default=None, help="resume a named session instead of a new one")
    c.set_defaults(func=_chat)
    d = sub.add_parser("db", help="database tasks")
    dsub = d.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_db)
    ct = sub.add_parser("content", help="content tasks")
    csub = ct.add_subparsers(dest="content_command", required=True)
    chk = csub.add_parser("check", help="validate articles, contacts and catalogs")
    chk.add_argument("--stale-months", type=int, default=None, help="flag contacts last reviewed longer ago")
    chk.add_argument("--today", default=None, help="check as of this date (YYYY-MM-DD)")
    chk.set_defaults(func=_content_check)
    pg = dsub.add_parser("purge", help="erase idle sessions and closed tickets past their retention")
    pg.set_defaults(func=_db_purge)
    qr = sub.add_parser("qr", help="a PNG QR code of a Telegram deep link, for posters")
    qr.add_argument("--start", required=True, choices=sorted(DEEP_LINK_ROLES), help="the role to preselect")
    qr.add_argument("--bot", default=None, help="the bot's username (default: ask Telegram with the token)")
    qr.add_argument("--out", type=Path, default=None, help="the PNG file (default: baken-<start>.png)")
    qr.set_defaults(func=_qr)
    ky = sub.add_parser("keys", help="the server key")
    ksub = ky.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("init", help="create the key of a new installation (never over existing data)").set_defaults(
        func=_keys_init
    )
    ksub.add_parser("fingerprint", help="print the key's public check value").set_defaults(func=_keys_fingerprint)
    bk = sub.add_parser("backup", help="a consistent copy of the database (never the key) while serving")
    bk.add_argument("out", type=Path, help="the backup file to write (must not exist)")
    bk.set_defaults(func=_backup)
    rt = sub.add_parser("restore", help="restore a backup into an empty database, under the key it was made with")
    rt.add_argument("archive", type=Path, help="a file written by `baken backup`")
    rt.set_defaults(func=_restore)
    ksub.add_parser("rotate", help="a new master key; re-wraps every data key without stopping the server"
                    ).set_defaults(func=_keys_rotate)
    co = sub.add_parser("counsellor",
                        help="dashboard accounts: add, disable, sign-out, list, reset-password, reset-2fa")
    cosub = co.add_subparsers(dest="counsellor_command", required=True)
    add = cosub.add_parser("add", help="add an account; prints the TOTP enrolment QR and recovery codes")
    add.add_argument("name", help="the login name")
    add.add_argument("--role", required=True, choices=["counsellor", "supervisor"])
    add.add_argument("--languages", required=True, help="the languages they answer in, e.g. nl,fr")
    add.add_argument("--alias", default=None, help="what the person is told: a first name or an alias")
    add.add_argument("--ui-lang", default="en", help="the dashboard's language (nl, fr, de, en)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the one-time password from the first line of stdin (default: a random one, printed)")
    add.set_defaults(func=_counsellor)
    rp = cosub.add_parser("reset-password", help="a forgotten password: a new one-time password (the second "
                          "factor stays); check who is asking first (docs/deploy.md)")
    rp.add_argument("name")
    rp.add_argument("--password-stdin", action="store_true",
                    help="read the one-time password from the first line of stdin (default: a random one, printed)")
    rp.set_defaults(func=_counsellor)
    dis = cosub.add_parser("disable", help="disable an account and end its sessions")
    dis.add_argument("name")
    dis.set_defaults(func=_counsellor)
    so = cosub.add_parser("sign-out", help="end one account's dashboard sessions, or everyone's (--all)")
    so.add_argument("name", nargs="?")
    so.add_argument("--all", action="store_true", help="end every session of every account")
    so.set_defaults(func=_counsellor)
    ls = cosub.add_parser("list", help="list the accounts")
    ls.set_defaults(func=_counsellor)
    rs = cosub.add_parser("reset-2fa", help="a new TOTP secret and recovery codes (the old ones stop working); "
                          "check who is asking first (docs/deploy.md)")
    rs.add_argument("name")
    rs.set_defaults(func=_counsellor)
    tr = sub.add_parser("triage", help="triage rules")
    tsub = tr.add_subparsers(dest="triage_command", required=True)
    tt = tsub.add_parser("table", help="print the rules as a table")
    tt.set_defaults(func=_triage_table)
    sc = sub.add_parser("screen", help="the free-text danger screen: classify stdin lines, or --eval")
    sc.add_argument("--lang", default=None, choices=["nl", "fr", "de", "en"], help="the writer's language")
    sc.add_argument("--eval", action="store_true", help="recall and false positives on the labelled corpus")
    sc.add_argument("--split", default="untouched", choices=["untouched", "heldout", *SPLITS, "trained", "all"],
                    help="which part of the corpus --eval measures (default: the part nothing was ever tuned or "
                         "trained on, the honest figure; 'heldout': every held part, most seen since; "
                         "'trained': what the model learnt; docs/danger-screen.md gives each part's first run)")
    sc.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                    help="with --eval: measure the <lang>.tsv files in DIR instead (a set kept outside the project)")
    sc.add_argument("--verbose", action="store_true", help="the words that fired; with --eval, every miss")
    sc.add_argument("--rules-only", action="store_true",
                    help="the lexicons and rules without the statistical model, to compare")
    sc.set_defaults(func=_screen)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    # JSON lines in production, text in development; every line through the privacy filter (bot/logs.py)
    configure_logging(
        level=settings.log_level if args.command == "serve" else logging.WARNING,
        json_lines=wants_json(settings.environment, settings.log_format),
    )
    # transitions logs every callback at INFO; the state names say nothing useful in production
    logging.getLogger("transitions").setLevel(logging.WARNING)
    os.umask(0o077)  # the database, its WAL and every file Baken writes: readable by this user only
    try:
        return int(args.func(args, settings) or 0)
    except (KeyProblem, StartProblem) as problem:
        print(f"baken: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
