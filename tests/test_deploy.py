"""The files in deploy/ work: nginx accepts the config and really proxies the chat to two `baken serve`
processes; systemd accepts the units; the container's run-time lock is complete and holds no dev tools."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import aiohttp
import pytest

from bot.server_key import create_key
from bot.settings import Settings
from tests.bot.test_server import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

sys.path.insert(0, str(DEPLOY))
import runtime_lock  # noqa: E402 - a stand-alone script in deploy/, imported from there


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baken.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    crt, pem = folder / "cert.pem", folder / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def nginx_site(folder: Path, *, http_port: int = 80, https_port: int = 443,
               upstreams: tuple[int, ...] = ()) -> Path:
    """deploy/nginx/baken.conf with a test certificate, logs in `folder`, and (optionally) other ports."""
    crt, pem = _self_signed(folder)
    conf = (DEPLOY / "nginx" / "baken.conf").read_text()
    conf = conf.replace("/etc/letsencrypt/live/baken.example/fullchain.pem", str(crt))
    conf = conf.replace("/etc/letsencrypt/live/baken.example/privkey.pem", str(pem))
    conf = conf.replace("/var/log/nginx/", f"{folder}/")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:80;\n", "")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    conf = conf.replace("listen [::]:443 ssl http2;\n", "")
    if upstreams:
        conf = re.sub(r"    server 127\.0\.0\.1:808\d [^\n]*\n", "", conf)
        servers = "".join(f"    server 127.0.0.1:{p} max_fails=0;\n" for p in upstreams)
        conf = conf.replace("    keepalive 32;", servers + "    keepalive 32;")
    (folder / "baken.conf").write_text(conf)
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  include {folder}/baken.conf;\n}}\n"
    )
    return main


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_site_config(tmp_path: Path) -> None:
    main = nginx_site(tmp_path)
    checked = subprocess.run([str(NGINX), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                              "-c", str(main)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def spawn(argv: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """A process whose stderr goes to `log` (appended), or nowhere."""
    if log is None:
        return subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    with log.open("ab") as sink:
        return subprocess.Popen(argv, env=env, stderr=sink)


class Processes:
    """`baken serve` processes on one SQLite database (enough to show the proxy spreads and fails over)."""

    def __init__(self, tmp_path: Path, count: int) -> None:
        key = tmp_path / "keys" / "secret.key"
        create_key(key)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
        self.env |= {"BAKEN_DATA_DIR": str(tmp_path / "data"), "BAKEN_SECRET_KEY_FILE": str(key),
                     "BAKEN_TRUSTED_PROXIES": "127.0.0.1,::1"}
        self.ports = [free_port() for _ in range(count)]
        self.folder = tmp_path
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def log(self, port: int) -> Path:
        """The process's own log (its access log names every request it was given)."""
        return self.folder / f"baken-{port}.log"

    async def start(self, port: int) -> None:
        self.procs[port] = spawn([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], self.env,
                                 self.log(port))
        await _until_ready(f"http://127.0.0.1:{port}/readyz")

    async def stop(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.terminate()  # SIGTERM, as systemctl restart sends: in-flight requests finish first
        await asyncio.to_thread(proc.wait, 30)

    async def restart(self, port: int) -> None:
        await self.stop(port)
        await self.start(port)


@contextlib.asynccontextmanager
async def baken_processes(tmp_path: Path, count: int) -> AsyncIterator[Processes]:
    procs = Processes(tmp_path, count)
    try:
        for port in procs.ports:
            await procs.start(port)  # one after the other: one migration run
        yield procs
    finally:
        for port in list(procs.procs):
            await procs.stop(port)


@contextlib.asynccontextmanager
async def nginx_running(folder: Path, http_port: int, https_port: int, upstreams: list[int],
                        ready: str = "/healthz") -> AsyncIterator[str]:
    """nginx with the site config; `ready` is the path that answers once it runs (`/metrics`, which nginx
    answers itself, when no Baken runs behind it)."""
    main = nginx_site(folder, http_port=http_port, https_port=https_port, upstreams=tuple(upstreams))
    proc = spawn([str(NGINX), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main),
                  "-g", "daemon off; master_process off;"], dict(os.environ))
    base = f"https://127.0.0.1:{https_port}"
    try:
        await _until_ready(f"{base}{ready}")
        yield base
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 20)


async def _until_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url, ssl=False) as r:
                    if r.status in (200, 301, 404):
                        return
            await asyncio.sleep(0.1)  # a separate process: its port is the only signal it gives
    raise AssertionError(f"nothing answered at {url}")


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    yield tmp_path, free_port(), free_port()


async def test_nginx_proxies_the_chat_socket_and_hides_the_operations_endpoints(
    nginx_in_front: tuple[Path, int, int],
) -> None:
    folder, http_port, https_port = nginx_in_front
    async with baken_processes(folder, 2) as procs, \
            nginx_running(folder, http_port, https_port, procs.ports) as base, \
            aiohttp.ClientSession(headers={"Host": "baken.example"}) as http:
        async with http.get(f"http://127.0.0.1:{http_port}/privacy", allow_redirects=False) as r:
            assert r.status == 301 and r.headers["Location"] == "https://baken.example/privacy"
        for path in ("/metrics", "/readyz"):
            async with http.get(f"{base}{path}", ssl=False) as r:
                assert r.status == 404, path
        async with http.get(f"http://127.0.0.1:{procs.ports[0]}/metrics") as r:
            assert r.status == 200, "each process is scraped on its own port"
        async with http.get(f"{base}/widget.js", ssl=False) as r:
            assert "https://baken.example" in await r.text(), "the trusted proxy says the scheme"
        async with http.get(f"{base}/", ssl=False) as r:
            csp = r.headers["Content-Security-Policy"]  # ASVS 4.4.1: a page served over TLS opens wss:// only
            assert "connect-src 'self' wss://baken.example;" in csp and "ws://" not in csp, csp
        for path in ("/", "/widget.js", "/chat/static/chat.js", "/dashboard/login", "/metrics", "/no-such-page"):
            async with http.get(f"{base}{path}", ssl=False, allow_redirects=False) as r:
                hsts = r.headers.get("Strict-Transport-Security", "")  # ASVS 3.4.1: errors too, a year or more
                age = re.match(r"max-age=(\d+)", hsts)
                assert age and int(age[1]) >= 365 * 24 * 3600 and "includeSubDomains" in hsts, f"{path}: {hsts}"
        async with http.ws_connect(f"wss://127.0.0.1:{https_port}/chat/ws", ssl=False) as ws:
            await ws.send_str(json.dumps({"type": "hello", "token": None, "lang": "en", "fresh": True}))
            frame = json.loads((await ws.receive(timeout=10)).data)
            assert frame["type"] == "session", "the WebSocket upgrade passes through"
        async with http.post(f"{base}/telegram/webhook", json={}, ssl=False) as r:
            assert r.status == 404, "Telegram is off in this test: the route exists only with a token"
    log = (folder / "baken.access.log").read_text()
    assert "/chat/ws" in log and "127.0.0.1" not in log, "nginx's log names no client address"


async def test_a_rolling_restart_behind_nginx_fails_no_request(nginx_in_front: tuple[Path, int, int]) -> None:
    """docs/deploy.md's upgrade loop: restart each process in turn, waiting for /readyz; readers see no error."""
    folder, http_port, https_port = nginx_in_front
    async with baken_processes(folder, 2) as procs, \
            nginx_running(folder, http_port, https_port, procs.ports) as base, \
            aiohttp.ClientSession(headers={"Host": "baken.example"}) as http:
        outcomes: list[int | str] = []
        done = asyncio.Event()

        async def reader() -> None:
            while not done.is_set():
                try:
                    async with http.get(f"{base}/privacy", ssl=False) as r:
                        await r.read()
                        outcomes.append(r.status)
                except aiohttp.ClientError as exc:
                    outcomes.append(type(exc).__name__)

        readers = [asyncio.create_task(reader()) for _ in range(4)]
        try:
            for port in procs.ports:
                await procs.restart(port)
            await asyncio.sleep(0.5)
        finally:
            done.set()
            await asyncio.gather(*readers)
    failed = [o for o in outcomes if o != 200]
    print(f"rolling restart of {len(procs.ports)} processes behind nginx: {len(outcomes)} requests, "
          f"{len(failed)} failed")
    assert len(outcomes) > 50 and not failed, f"{len(failed)} of {len(outcomes)} failed: {failed[:5]}"


async def test_plain_http_redirects_what_browsers_open_and_refuses_what_programs_call(
    nginx_in_front: tuple[Path, int, int],
) -> None:
    """ASVS 4.1.2: pages go to HTTPS by 301; the webhook, the chat's socket and fallback, and the operations
    endpoints answer 403 over plain HTTP, never a redirect a client would follow without noticing."""
    folder, http_port, https_port = nginx_in_front
    plain = f"http://127.0.0.1:{http_port}"
    async with nginx_running(folder, http_port, https_port, [free_port()], ready="/metrics"), \
            aiohttp.ClientSession(headers={"Host": "baken.example"}) as http:
        for path in ("/", "/privacy", "/dashboard/login", "/widget.js", "/chat/static/chat.js"):
            async with http.get(f"{plain}{path}", allow_redirects=False) as r:
                assert r.status == 301 and r.headers["Location"] == f"https://baken.example{path}", path
        for method, path in (("POST", "/telegram/webhook"), ("GET", "/telegram/webhook"), ("POST", "/chat/send"),
                             ("POST", "/chat/poll"), ("POST", "/chat/resume"), ("GET", "/chat/ws"),
                             ("GET", "/metrics"), ("GET", "/healthz"), ("GET", "/readyz")):
            async with http.request(method, f"{plain}{path}", allow_redirects=False) as r:
                assert r.status == 403 and "Location" not in r.headers, f"{method} {path}: {r.status}"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"ws://127.0.0.1:{http_port}/chat/ws")
        assert refused.value.status == 403


async def test_the_dashboard_answers_on_its_own_host_name_only(nginx_in_front: tuple[Path, int, int]) -> None:
    """ASVS 3.5.4: the site's second server block is the dashboard's host, serving the dashboard and nothing
    else; the public host (and any unknown one) serves no dashboard, and Baken itself refuses it there too."""
    folder, http_port, https_port = nginx_in_front
    procs = Processes(folder, 1)
    procs.env["BAKEN_DASHBOARD_HOST"] = "dashboard.baken.example"
    port = procs.ports[0]
    await procs.start(port)
    try:
        async with nginx_running(folder, http_port, https_port, procs.ports) as base, \
                aiohttp.ClientSession() as http:
            async def status(host: str, path: str, url: str = base, method: str = "GET") -> tuple[int, str]:
                async with http.request(method, f"{url}{path}", headers={"Host": host}, ssl=False,
                                        allow_redirects=False) as r:
                    return r.status, r.headers.get("Location", "")

            desk = "dashboard.baken.example"
            assert await status(desk, "/dashboard/login") == (200, "")
            assert await status(desk, "/dashboard/static/dashboard.js") == (200, "")
            code, where = await status(desk, "/")
            assert code == 301 and where.endswith("/dashboard/"), where
            for method, path in (("GET", "/privacy"), ("GET", "/widget.js"), ("GET", "/chat/static/chat.js"),
                                 ("POST", "/chat/send"), ("GET", "/chat/ws"), ("POST", "/telegram/webhook"),
                                 ("GET", "/healthz"), ("GET", "/metrics")):
                assert (await status(desk, path, method=method))[0] == 404, f"{method} {path} on the dashboard host"
            assert await status(desk, "/dashboard/login", f"http://127.0.0.1:{http_port}") == (
                301, "https://dashboard.baken.example/dashboard/login")
            for host in ("baken.example", "unknown.example"):
                for path in ("/dashboard/login", "/dashboard/", "/dashboard", "/dashboard/static/dashboard.js"):
                    assert (await status(host, path))[0] == 404, f"{path} on {host}"
                assert (await status(host, "/privacy"))[0] == 200
            # behind the proxy's fence, Baken itself: the dashboard only for its own host name
            direct = f"http://127.0.0.1:{port}"
            assert (await status("baken.example", "/dashboard/login", direct))[0] == 404
            assert (await status(desk, "/dashboard/login", direct))[0] == 200
    finally:
        await procs.stop(port)


def _handshake(port: int, version: ssl.TLSVersion | None = None, ciphers: str = "ALL") -> tuple[str, str] | None:
    """(protocol, cipher) nginx agreed to, or None when it refused. The client offers everything OpenSSL
    still knows (security level 0), so a refusal is the server's."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the throwaway certificate: this test is about protocols and suites
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1: offered on purpose
        ctx.set_ciphers(f"{ciphers}:@SECLEVEL=0")
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="baken.example") as tls:
            cipher = tls.cipher()
            return str(tls.version()), cipher[0] if cipher else ""
    except (ssl.SSLError, ConnectionError):
        return None


@contextlib.contextmanager
def _lenient_tls_server(folder: Path) -> Iterator[int]:
    """The control: a server that speaks TLS 1.0 and every suite, to show the client really offers them."""
    crt, pem = _self_signed(folder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, pem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _tls12_suites() -> list[dict[str, object]]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return [c for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]


async def test_nginx_speaks_only_tls_12_and_13_with_forward_secret_aead_suites(
    nginx_in_front: tuple[Path, int, int],
) -> None:
    """ASVS 12.1.1, 12.1.2 against the real nginx with the site config: TLS 1.0 and 1.1 are refused, 1.2 and
    1.3 accepted, 1.3 chosen when offered; over TLS 1.2 each suite is offered alone, and only ECDHE with AEAD
    from the config's list gets through. A lenient control server accepts what nginx refuses."""
    folder, http_port, https_port = nginx_in_front
    conf = (DEPLOY / "nginx" / "baken.conf").read_text()
    listed = re.search(r"^\s*ssl_ciphers ([^;]+);", conf, re.M)
    assert listed is not None, "an explicit cipher list, not nginx's default (HIGH:!aNULL:!MD5, CBC included)"
    configured = set(listed[1].split(":"))
    assert re.search(r"^\s*ssl_protocols TLSv1\.2 TLSv1\.3;", conf, re.M)
    suites = _tls12_suites()
    old = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
    (folder / "control").mkdir()
    with _lenient_tls_server(folder / "control") as control:
        for version in old:
            assert await asyncio.to_thread(_handshake, control, version), f"the client offers {version.name}"
        weak = [str(c["name"]) for c in suites if not c["aead"] and str(c["name"]).startswith("ECDHE-ECDSA")]
        assert weak and await asyncio.to_thread(_handshake, control, ssl.TLSVersion.TLSv1_2, weak[0])
    async with nginx_running(folder, http_port, https_port, [free_port()], ready="/metrics"):
        for version in old:
            assert await asyncio.to_thread(_handshake, https_port, version) is None, version.name
        newest = await asyncio.to_thread(_handshake, https_port)
        assert newest is not None and newest[0] == "TLSv1.3", f"the newest is preferred: {newest}"
        tls12 = await asyncio.to_thread(_handshake, https_port, ssl.TLSVersion.TLSv1_2)
        assert tls12 is not None and tls12[0] == "TLSv1.2"
        accepted = []
        for suite in suites:
            got = await asyncio.to_thread(_handshake, https_port, ssl.TLSVersion.TLSv1_2, str(suite["name"]))
            if got is not None:
                accepted.append(suite)
    names = {str(s["name"]) for s in accepted}
    assert names, "some TLS 1.2 suite works"
    assert names <= configured, f"outside the config's list: {names - configured}"
    assert all(s["aead"] and s["kea"] == "kx-ecdhe" for s in accepted), f"not ECDHE with AEAD: {accepted}"
    print(f"TLS 1.2 suites nginx accepted (ECDSA certificate) of {len(suites)} offered: {sorted(names)}")


async def test_baken_listens_on_loopback_only_and_nginx_reaches_it_there(tmp_path: Path) -> None:
    """ASVS 12.3.3, 12.3.4: the proxy talks to Baken over loopback only, so that plain-HTTP hop never leaves
    the host: `baken serve` binds 127.0.0.1 unless told otherwise, the units say so too, and every upstream
    of the nginx site is a loopback address."""
    assert Settings.model_fields["host"].default == "127.0.0.1"
    for unit in ("baken.service", "baken@.service"):
        assert "BAKEN_HOST=127.0.0.1" in (DEPLOY / "systemd" / unit).read_text(), unit
    conf = (DEPLOY / "nginx" / "baken.conf").read_text()
    block = re.search(r"^upstream baken \{(.*?)^\}", conf, re.M | re.S)
    assert block is not None
    servers = re.findall(r"^\s*server\s+([^\s;]+)", block[1], re.M)
    assert servers and all(ipaddress.ip_address(s.rsplit(":", 1)[0].strip("[]")).is_loopback for s in servers)
    assert set(re.findall(r"proxy_pass\s+([^;]+);", conf)) == {"http://baken"}, "no other upstream"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outward interface
        outward = probe.getsockname()[0]
    procs = Processes(tmp_path, 1)
    port = procs.ports[0]
    procs.env.pop("BAKEN_HOST", None)
    await procs.start(port)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as r:
            assert r.status == 200
        if ipaddress.ip_address(outward).is_loopback:
            pytest.skip("this machine has no address but loopback to try from")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((outward, port), timeout=5).close()
    finally:
        await procs.stop(port)


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", ["baken.service", "baken@.service"])
def test_systemd_accepts_the_units(unit: str, tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / unit).read_text()
    # the units name /opt/baken/venv; here the executable is this checkout's
    (tmp_path / unit).write_text(text.replace("/opt/baken/venv", str(Path(sys.executable).parent.parent)))
    name = unit.replace("@.", "@8081.")
    if name != unit:
        (tmp_path / name).symlink_to(tmp_path / unit)
    checked = subprocess.run([str(SYSTEMD_ANALYZE), "verify", str(tmp_path / name)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes", "CapabilityBoundingSet=",
                      "LoadCredentialEncrypted=secret.key:", "PrivateTmp=yes", "SystemCallFilter=@system-service"):
        assert hardening in text


def test_the_container_installs_the_locks_run_time_part_with_hashes() -> None:
    lock = (ROOT / "requirements.lock.txt").read_text()
    chosen = "\n".join(runtime_lock.runtime_entries(lock, (ROOT / "pyproject.toml").read_text()))
    names = set(re.findall(r"^([a-z0-9][a-z0-9._-]*)==", chosen, re.M))
    assert {"aiohttp", "python-telegram-bot", "prometheus-client", "sqlalchemy", "greenlet", "asyncpg"} <= names
    assert not names & {"pytest", "playwright", "mypy", "ruff", "uv", "hypothesis", "setuptools"}, "no dev tools"
    assert chosen.count("--hash=sha256:") >= len(names), "every entry keeps its hashes"
    # complete: everything baken's installed metadata requires (for this platform) is in the chosen part
    from packaging.requirements import Requirement

    wanted: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [("baken", frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                continue
            item = (runtime_lock.normalise(req.name), frozenset(req.extras))
            wanted.add(item[0])
            if item not in seen:
                seen.add(item)
                todo.append(item)
    assert wanted <= names, f"missing from the image: {sorted(wanted - names)}"
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert "--require-hashes --no-deps -r runtime.txt" in containerfile
