"""ASVS 4.2.1: no request smuggling through the shipped nginx site into a real `baken serve`.

Each attack hides a second request — to `/readyz` or `/metrics`, which nginx answers 404 itself and never
passes on — behind a request whose length can be read two ways (Content-Length and Transfer-Encoding, an
obfuscated Transfer-Encoding, two Content-Lengths), in a pipelined or upgraded connection, or in an HTTP/2
request that nginx turns into HTTP/1.1 for Baken. nginx must refuse the request or normalise it, and Baken's
own access log, which names every request it is given, must never show the hidden one. nginx keeps its
connections to Baken open between clients (`keepalive`), so a desync there would hand the hidden request
to whoever came next: a clean request after every attack must get its own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import struct
from pathlib import Path

import aiohttp

from tests.test_deploy import DEPLOY, Processes, baken_processes, nginx_in_front, nginx_running

__all__ = ["nginx_in_front"]  # the fixture, used by name

HOST = b"Host: baken.example\r\n"


def hidden(case: str, path: str = "/readyz") -> bytes:
    """The smuggled request: to a path nginx never passes on, so it reaches Baken only by a desync."""
    return f"GET {path}?smuggled={case} HTTP/1.1\r\n".encode() + HOST + b"\r\n"


def post(headers: bytes, body: bytes) -> bytes:
    return b"POST /chat/send HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n" + headers + b"\r\n" + body


#: (case, raw bytes, what nginx must answer first: "refused" (400/501) or a status it passes on)
HTTP1: list[tuple[str, bytes, str]] = [
    ("cl-te", post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + hidden("cl-te")),
     "refused"),
    ("te-cl", post(b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                   b"%x\r\n" % len(hidden("te-cl")) + hidden("te-cl") + b"\r\n0\r\n\r\n"), "refused"),
    ("te-unknown", post(b"Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n", b"0\r\n\r\n" + hidden("te-x")),
     "refused"),
    ("te-space-before-colon", post(b"Content-Length: 4\r\nTransfer-Encoding : chunked\r\n",
                                   b"0\r\n\r\n" + hidden("te-space")), "refused"),
    ("te-tab", post(b"Content-Length: 4\r\nTransfer-Encoding:\tchunked\r\n", b"0\r\n\r\n" + hidden("te-tab")),
     "refused"),
    ("te-folded", post(b"Content-Length: 4\r\nTransfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n" + hidden("te-fold")),
     "refused"),
    ("te-twice", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                      b"0\r\n\r\n" + hidden("te-twice")), "refused"),
    ("te-list", post(b"Transfer-Encoding: identity, chunked\r\n", b"0\r\n\r\n" + hidden("te-list")), "refused"),
    ("te-http10", b"POST /chat/send HTTP/1.0\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
     + hidden("te-http10"), "refused"),
    ("cl-twice", post(b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(hidden("cl-twice")),
                      hidden("cl-twice")), "refused"),
    ("cl-list", post(b"Content-Length: 0, %d\r\n" % len(hidden("cl-list")), hidden("cl-list")), "refused"),
    ("cl-signed", post(b"Content-Length: +%d\r\n" % len(hidden("cl-plus")), hidden("cl-plus")), "refused"),
    ("chunk-size-overflow", post(b"Transfer-Encoding: chunked\r\n",
                                 b"10000000000000000000000001\r\nx\r\n0\r\n\r\n" + hidden("overflow")), "refused"),
    # read one way only, by nginx, which then sends Baken a plain Content-Length: normalised
    ("te-upper-case", post(b"Transfer-Encoding: CHUNKED\r\n", b"2\r\n{}\r\n0\r\n\r\n"), "200"),
    # a request hidden in a GET's body: nginx passes the body on as a body; Baken must not read it as a request
    ("get-with-body", b"GET /privacy HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n" % len(hidden("body"))
     + hidden("body"), "200"),
    # pipelined: the second request is nginx's to judge, like any other (it answers 404 itself)
    ("pipelined", b"GET /privacy HTTP/1.1\r\n" + HOST + b"\r\n" + hidden("pipelined") + hidden("pipelined-m",
                                                                                              "/metrics"), "200"),
    # a WebSocket handshake Baken refuses: nginx must not turn the connection into a raw tunnel to Baken
    ("failed-upgrade", b"GET /chat/ws HTTP/1.1\r\n" + HOST + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
     b"Sec-WebSocket-Version: 1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
     + hidden("upgrade", "/metrics"), "400"),
    ("h2c-upgrade", b"GET /privacy HTTP/1.1\r\n" + HOST + b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
     b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n" + hidden("h2c"), "200"),
]


def _client_tls(alpn: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test certificate is self-signed
    context.set_alpn_protocols([alpn])
    return context


async def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes as they are over TLS; everything nginx answers until it closes or goes quiet for 2 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_tls("http/1.1"),
                                                   server_hostname="baken.example")
    answer = b""
    try:
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError, ssl.SSLError):
            while chunk := await asyncio.wait_for(reader.read(65536), 2):
                answer += chunk
    finally:
        writer.close()
    return answer


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _literal(name: str, value: str) -> bytes:
    """An HPACK literal header without indexing and without Huffman coding (RFC 7541, 6.2.2)."""
    raw_name, raw_value = name.encode(), value.encode()
    assert len(raw_name) < 127 and len(raw_value) < 127
    return b"\x00" + bytes([len(raw_name)]) + raw_name + bytes([len(raw_value)]) + raw_value


async def h2_exchange(port: int, headers: list[tuple[str, str]], body: bytes) -> str:
    """One HTTP/2 request written by hand (no client library would send these); what nginx did with it:
    `status NNN`, `reset` or `goaway`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_tls("h2"),
                                                   server_hostname="baken.example")
    try:
        tls = writer.get_extra_info("ssl_object")
        assert tls is not None and tls.selected_alpn_protocol() == "h2", "the site speaks HTTP/2"
        block = b"".join(_literal(n, v) for n, v in headers)
        writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(4, 0, 0, b"")
                     + _frame(1, 0x4 | (0 if body else 0x1), 1, block) + (_frame(0, 0x1, 1, body) if body else b""))
        await writer.drain()
        while True:
            head = await asyncio.wait_for(reader.readexactly(9), 5)
            length, kind, stream = int.from_bytes(head[:3], "big"), head[3], struct.unpack(">I", head[5:])[0]
            payload = await asyncio.wait_for(reader.readexactly(length), 5)
            if kind == 4 and not head[4] & 0x1:
                writer.write(_frame(4, 0x1, 0, b""))  # acknowledge the server's settings
            elif kind == 7:
                return "goaway"
            elif kind == 3 and stream == 1:
                return "reset"
            elif kind == 1 and stream == 1:
                # nginx sends :status first: indexed for the common codes (RFC 7541 appendix A), else literal
                indexed = {0x88: 200, 0x89: 204, 0x8A: 206, 0x8B: 304, 0x8C: 400, 0x8D: 404, 0x8E: 500}
                if payload[0] in indexed:
                    return f"status {indexed[payload[0]]}"
                assert payload[0] == 0x48 and payload[1] == 0x03, payload[:8]
                return f"status {payload[2:5].decode()}"
    finally:
        writer.close()


def _h2(path: str, method: str = "POST") -> list[tuple[str, str]]:
    return [(":method", method), (":scheme", "https"), (":authority", "baken.example"), (":path", path)]


#: (case, headers, body): each would carry a hidden request if nginx wrote it down to HTTP/1.1 as it came.
#: nginx drops an HTTP/2 `transfer-encoding` and passes the bytes on as the body, with a Content-Length: Baken
#: reads them as one (malformed) chat frame and answers 400; the others nginx refuses itself.
HTTP2: list[tuple[str, list[tuple[str, str]], bytes]] = [
    ("h2-transfer-encoding", [*_h2("/chat/send"), ("transfer-encoding", "chunked")],
     b"0\r\n\r\n" + hidden("h2-te")),
    ("h2-short-length", [*_h2("/chat/send"), ("content-length", "0")], hidden("h2-cl")),
    ("h2-crlf-in-value", [*_h2("/privacy", "GET"), ("x-note", "a\r\n\r\n" + hidden("h2-crlf").decode()[:-4])], b""),
    ("h2-crlf-in-name", [*_h2("/privacy", "GET"), ("x-note\r\ntransfer-encoding", "chunked")], b""),
    ("h2-path-with-request", _h2("/privacy HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz?smuggled=h2-path", "GET"), b""),
]


async def _access_log(procs: Processes, port: int, marker: str) -> list[str]:
    """The requests Baken's access log names, once the request carrying `marker` has been written."""
    log = procs.log(port)
    for _ in range(200):
        text = log.read_text(errors="replace")
        if marker in text:
            return re.findall(r'aiohttp\.access .*?"([A-Z]+ \S+) HTTP/1\.[01]"', text)
        await asyncio.sleep(0.05)  # another process: its log file is the only signal it gives
    raise AssertionError(f"{marker} never reached Baken")


async def test_nginx_lets_no_request_be_smuggled_into_baken(nginx_in_front: tuple[Path, int, int]) -> None:
    folder, http_port, https_port = nginx_in_front
    async with baken_processes(folder, 1) as procs, \
            nginx_running(folder, http_port, https_port, procs.ports) as base, \
            aiohttp.ClientSession(headers={"Host": "baken.example"}) as http:
        port = procs.ports[0]
        # what the start logged (readiness probes, nginx's first checks) ends at a request of our own: on a
        # loaded machine a probe's line can be written after the probe returned, so counting those is racy
        async with http.get(f"{base}/healthz?started", ssl=False) as r:
            assert r.status == 200
        before = (await _access_log(procs, port, "?started")).index("GET /healthz?started") + 1
        answers: dict[str, list[str]] = {}

        async def clean(case: str) -> None:
            """A request after the attack, on nginx's reused connection to Baken, gets its own answer."""
            async with http.get(f"{base}/healthz?after={case}", ssl=False) as r:
                assert r.status == 200 and (await r.json())["service"] == "baken", case

        for case, data, _ in HTTP1:
            answer = await raw_exchange(https_port, data)
            answers[case] = re.findall(r"HTTP/1\.1 (\d{3})", answer.decode(errors="replace"))
            await clean(case)
        h2 = {}
        for case, headers, body in HTTP2:
            h2[case] = await h2_exchange(https_port, headers, body)
            await clean(case)
        seen = (await _access_log(procs, port, f"after={HTTP2[-1][0]}"))[before:]

    print(f"HTTP/1.1 answers: {answers}\nHTTP/2 outcomes: {h2}")
    smuggled = [line for line in seen if "smuggled=" in line or line.split()[1].startswith(("/readyz", "/metrics"))]
    assert not smuggled, f"Baken was handed a request nginx never passed on: {smuggled}"
    for case, _, expected in HTTP1:
        first = answers[case][0] if answers[case] else "nothing"
        if expected == "refused":
            assert b"?smuggled=" in dict((c, d) for c, d, _ in HTTP1)[case], "a refusal proves something"
            assert first in ("400", "501"), f"{case}: nginx answered {first}"
        else:
            assert first == expected, f"{case}: nginx answered {first}"
    assert answers["pipelined"] == ["200", "404", "404"], "nginx judged the pipelined requests itself"
    for case, outcome in h2.items():
        assert outcome in ("reset", "goaway", "status 400"), f"{case}: {outcome}"
    # what did reach Baken: the normalised requests, each once and whole, and the clean probes
    expected_seen = {"POST /chat/send", "GET /privacy", "GET /chat/ws"}
    front = [line for line in seen if "after=" not in line]
    assert set(front) == expected_seen, front
    assert front.count("POST /chat/send") == 2, "te-upper-case, and h2-transfer-encoding as a plain body"
    assert front.count("GET /chat/ws") == 1 and front.count("GET /privacy") == 3
    assert len([line for line in seen if "after=" in line]) == len(HTTP1) + len(HTTP2)


def test_the_site_keeps_the_settings_these_answers_rest_on() -> None:
    """The site buffers request bodies (nginx then sends Baken a Content-Length, never chunks it received)
    and speaks HTTP/1.1 with keep-alive upstream; turning either off changes what the test above exercised."""
    conf = (DEPLOY / "nginx" / "baken.conf").read_text()
    assert "proxy_request_buffering off" not in conf and "ignore_invalid_headers off" not in conf
    assert "proxy_http_version 1.1;" in conf and re.search(r"^\s*keepalive \d+;", conf, re.M)
