"""Tests for monitor.fetch against a real threaded HTTP server on 127.0.0.1.

The server is on loopback, so most tests allow private addresses; the SSRF guard is
tested on IP literals (no DNS), on ``localhost``, and on redirect hops through a
transport that sends a public-looking host to the local server. The connect-time check
(address pinning) is tested on the backend itself against a listening socket, and
through that same transport, which plays a name that passes the early check and then
resolves to loopback (DNS rebinding without a DNS server).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpcore
import httpx
import pytest

from monitor.config import HttpConfig
from monitor.errors import UnsafeURLError
from monitor.fetch import Fetcher, PinnedBackend, PinnedTransport, check_url_safe
from monitor.records import FetchResult

CAP = 10_000
HTML = b"<!doctype html><html><head><title>TSMC</title></head><body>Chips</body></html>"
GIVE_UP = "set http.allow_private_addresses: true to allow"
ONE_SECOND = {"timeout": {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}}


class _Server(ThreadingHTTPServer):
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        route = ROUTES.get(path)
        if route is None and path.startswith("/hop/"):
            route = _hop
        try:
            (route or _not_found)(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (slow drip, caps): that is what those tests do

    def send(
        self, status: int, body: bytes, content_type: str | None = "text/html", **headers: str
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)


def _not_found(h: _Handler) -> None:
    h.send(404, b"no such page", "text/plain")


def _hop(h: _Handler) -> None:
    # /hop/3 -> "2" (relative) -> /hop/2 -> ... -> /hop/0, which answers.
    left = int(h.path.rsplit("/", 1)[1])
    if left == 0:
        h.send(200, b"arrived")
    else:
        h.send(302, b"", Location=str(left - 1))


def _unsized_big(h: _Handler) -> None:
    # HTTP/1.0 without Content-Length: the body ends when the server closes.
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    for _ in range(10):
        h.wfile.write(b"x" * 5_000)


def _drip(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "100")
    h.end_headers()
    for _ in range(100):
        if h.server.stopping.wait(0.2):
            return
        h.wfile.write(b"x")


def _reset(h: _Handler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "5000")
    h.end_headers()
    h.wfile.write(b"x" * 100)
    # SO_LINGER 0: close() sends RST instead of FIN.
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def _echo_headers(h: _Handler) -> None:
    h.send(200, json.dumps(dict(h.headers.items())).encode(), "application/json")


ROUTES: dict[str, Callable[[_Handler], None]] = {
    "/ok": lambda h: h.send(200, HTML, "text/html; charset=utf-8"),
    "/gzip": lambda h: h.send(200, gzip.compress(HTML), Content_Encoding="gzip"),
    "/big": lambda h: h.send(200, b"x" * (CAP * 5)),
    "/big-unsized": _unsized_big,
    # ~10 kB on the wire that inflates to 10 MB.
    "/bomb": lambda h: h.send(200, gzip.compress(b"\0" * 10_000_000), Content_Encoding="gzip"),
    "/exact-cap": lambda h: h.send(200, b"x" * CAP),
    "/500": lambda h: h.send(500, b"boom", "text/plain"),
    "/500-big": lambda h: h.send(500, b"e" * (CAP * 3), "text/plain"),
    "/304": lambda h: h.send(304, b"", None),
    "/loop": lambda h: h.send(302, b"", Location="/loop"),
    "/to-metadata": lambda h: h.send(302, b"", Location="http://169.254.169.254/latest/meta-data"),
    "/to-loopback": lambda h: h.send(301, b"", Location="http://127.0.0.1/admin"),
    "/to-ftp": lambda h: h.send(302, b"", Location="ftp://example.org/file"),
    "/drip": _drip,
    "/reset": _reset,
    "/json": lambda h: h.send(200, b"{}", "application/json"),
    "/rss": lambda h: h.send(200, b"<rss/>", "application/rss+xml; charset=utf-8"),
    "/untyped": lambda h: h.send(200, b"<rss/>", None),
    "/headers": _echo_headers,
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.stopping = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _config(**overrides: object) -> HttpConfig:
    values: dict[str, object] = {
        "allow_private_addresses": True,
        "max_bytes": CAP,
        "timeout_seconds": 3.0,
        "connect_timeout_seconds": 1.0,
        "max_redirects": 5,
    }
    values.update(overrides)
    return HttpConfig.model_validate(values)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(_config()) as f:
        yield f


def _same(result: FetchResult, expected: FetchResult) -> None:
    """Whole-record comparison, leaving out the clock and the server's own headers."""
    assert result.elapsed_seconds >= 0
    assert dataclasses.replace(result, elapsed_seconds=0.0, headers={}) == expected


# --- the SSRF guard on its own -----------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("[::1]", "loopback"),
        ("[fc00::1]", "unique local"),
        ("[fe80::1]", "link-local"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped 127.0.0.1, loopback"),
        ("[2002:7f00:1::]", "6to4 tunnel address embedding 127.0.0.1"),
        ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo tunnel address"),
        ("[64:ff9b::a00:1]", "NAT64 of 10.0.0.1, private"),
    ],
)
def test_guard_refuses_non_public_literals(host: str, kind: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_url_safe(f"http://{host}/feed.xml", allow_private=False)
    shown = host.strip("[]")
    assert str(caught.value) == f"refused: {shown} ({kind}), a non-public address; {GIVE_UP}"


@pytest.mark.parametrize(
    "url",
    ["http://93.184.215.14/", "https://[2606:4700::1111]:8443/x", "http://[64:ff9b::5db8:d70e]/"],
)
def test_guard_accepts_public_literals(url: str) -> None:
    check_url_safe(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "address"),
    [("http://localhost/", "127.0.0.1"), ("http://2130706433/", "127.0.0.1")],
)
def test_guard_checks_what_the_resolver_answers(url: str, address: str) -> None:
    host = urlsplit(url).hostname
    with pytest.raises(UnsafeURLError) as caught:
        check_url_safe(url, allow_private=False)
    assert str(caught.value) == (
        f"refused: {host} resolves to {address} (loopback), a non-public address; {GIVE_UP}"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "file:///etc/passwd",
            "refused: scheme 'file' in 'file:///etc/passwd' is not http or https",
        ),
        (
            "ftp://example.org/",
            "refused: scheme 'ftp' in 'ftp://example.org/' is not http or https",
        ),
        ("http:///path", "refused: no host in 'http:///path'"),
        ("http://[::1/", "refused: malformed URL 'http://[::1/' (Invalid port: ':1')"),
    ],
)
def test_guard_refuses_bad_urls_even_when_private_is_allowed(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_url_safe(url, allow_private=True)
    assert str(caught.value) == reason


def test_guard_is_off_when_private_addresses_are_allowed() -> None:
    check_url_safe("http://169.254.169.254/latest/meta-data", allow_private=True)


def test_unresolvable_host_is_a_network_error() -> None:
    with Fetcher(_config(allow_private_addresses=False)) as f:
        result = f.get("http://nonexistent.invalid/feed.xml")
    assert result.status == "network_error"
    assert result.error is not None
    assert result.error.startswith("cannot resolve host nonexistent.invalid: ")


# --- fetching ------------------------------------------------------------------------


def test_ok_html(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(f"{server}/ok", accept="text/html", allowed_types=("text/html",))
    _same(
        result,
        FetchResult(
            url=f"{server}/ok", final_url=f"{server}/ok", status="ok", http_status=200, body=HTML
        ),
    )
    assert result.ok
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    assert all(key == key.lower() for key in result.headers)
    assert type(result.headers) is dict


def test_sends_user_agent_accept_and_encodings(server: str) -> None:
    with Fetcher(_config(user_agent="probe/1.0")) as f:
        result = f.get(
            f"{server}/headers", accept="application/rss+xml", headers={"If-None-Match": '"v1"'}
        )
    sent = {k.lower(): v for k, v in json.loads(result.body).items()}
    assert sent["user-agent"] == "probe/1.0"
    assert sent["accept"] == "application/rss+xml"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["if-none-match"] == '"v1"'


def test_gzip_body_is_decoded(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(f"{server}/gzip")
    _same(
        result,
        FetchResult(
            url=f"{server}/gzip",
            final_url=f"{server}/gzip",
            status="ok",
            http_status=200,
            body=HTML,
        ),
    )
    assert result.headers["content-encoding"] == "gzip"


def test_body_exactly_at_the_cap_is_kept(server: str, fetcher: Fetcher) -> None:
    assert fetcher.get(f"{server}/exact-cap").body == b"x" * CAP


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/big", f"Content-Length {CAP * 5}"),  # refused before reading
        ("/big-unsized", "the body"),  # cut while streaming
        ("/bomb", "the body"),  # counted after decoding
    ],
)
def test_too_large(server: str, fetcher: Fetcher, path: str, what: str) -> None:
    _same(
        fetcher.get(f"{server}{path}"),
        FetchResult(
            url=f"{server}{path}",
            final_url=f"{server}{path}",
            status="too_large",
            http_status=200,
            error=f"{what} is larger than the cap of {CAP} bytes (http.max_bytes)",
        ),
    )


@pytest.mark.parametrize(
    ("path", "code", "error", "body"),
    [
        ("/500", 500, "HTTP 500 Internal Server Error", b"boom"),
        ("/missing", 404, "HTTP 404 Not Found", b"no such page"),
        ("/500-big", 500, "HTTP 500 Internal Server Error", b"e" * CAP),  # kept, capped
    ],
)
def test_http_errors_keep_the_body(
    server: str, fetcher: Fetcher, path: str, code: int, error: str, body: bytes
) -> None:
    _same(
        fetcher.get(f"{server}{path}"),
        FetchResult(
            url=f"{server}{path}",
            final_url=f"{server}{path}",
            status="http_error",
            http_status=code,
            error=error,
            body=body,
        ),
    )


def test_not_modified(server: str, fetcher: Fetcher) -> None:
    _same(
        fetcher.get(
            f"{server}/304", headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
        ),
        FetchResult(
            url=f"{server}/304", final_url=f"{server}/304", status="not_modified", http_status=304
        ),
    )


def test_relative_redirect_chain_is_followed(server: str, fetcher: Fetcher) -> None:
    _same(
        fetcher.get(f"{server}/hop/5"),  # exactly max_redirects hops
        FetchResult(
            url=f"{server}/hop/5",
            final_url=f"{server}/hop/0",
            status="ok",
            http_status=200,
            body=b"arrived",
        ),
    )


def test_one_redirect_too_many(server: str, fetcher: Fetcher) -> None:
    _same(
        fetcher.get(f"{server}/hop/6"),
        FetchResult(
            url=f"{server}/hop/6",
            final_url=f"{server}/hop/1",
            status="too_many_redirects",
            error=f"more than 5 redirects (the last pointed to {server}/hop/0)",
        ),
    )


def test_redirect_loop(server: str) -> None:
    with Fetcher(_config(max_redirects=2)) as f:
        result = f.get(f"{server}/loop")
    _same(
        result,
        FetchResult(
            url=f"{server}/loop",
            final_url=f"{server}/loop",
            status="too_many_redirects",
            error=f"more than 2 redirects (the last pointed to {server}/loop)",
        ),
    )


def test_redirect_to_another_scheme_is_blocked(server: str, fetcher: Fetcher) -> None:
    _same(
        fetcher.get(f"{server}/to-ftp"),
        FetchResult(
            url=f"{server}/to-ftp",
            final_url="ftp://example.org/file",
            status="blocked",
            error="refused: scheme 'ftp' in 'ftp://example.org/file' is not http or https",
        ),
    )


def test_guard_blocks_the_first_hop(server: str) -> None:
    url = server.replace("127.0.0.1", "localhost") + "/ok"
    with Fetcher(_config(allow_private_addresses=False)) as f:
        result = f.get(url)
    _same(
        result,
        FetchResult(
            url=url,
            final_url=url,
            status="blocked",
            error=f"refused: localhost resolves to 127.0.0.1 (loopback), "
            f"a non-public address; {GIVE_UP}",
        ),
    )


class _ToLocalServer(httpx.BaseTransport):
    """Sends every request, whatever its host, to ``host`` (a local server) and ``port``.

    This lets a public literal pass the guard on the first hop, so the guard on the
    *redirect* hop is what the test sees; or, over a :class:`PinnedTransport`, it is a
    name that resolved to a public address for the early check and to a local one at
    connect time. Records the URLs it was asked for.
    """

    def __init__(
        self, port: int, *, host: str = "127.0.0.1", inner: httpx.BaseTransport | None = None
    ) -> None:
        self._inner = inner if inner is not None else httpx.HTTPTransport()
        self._host = host
        self._port = port
        self.asked: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        request.url = request.url.copy_with(host=self._host, port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize(
    ("path", "target", "kind"),
    [
        ("/to-metadata", "http://169.254.169.254/latest/meta-data", "link-local"),
        ("/to-loopback", "http://127.0.0.1/admin", "loopback"),
    ],
)
def test_guard_runs_on_every_redirect_hop(server: str, path: str, target: str, kind: str) -> None:
    transport = _ToLocalServer(httpx.URL(server).port or 0)
    with Fetcher(_config(allow_private_addresses=False), transport=transport) as f:
        result = f.get(f"http://93.184.215.14{path}")
    host = httpx.URL(target).host
    _same(
        result,
        FetchResult(
            url=f"http://93.184.215.14{path}",
            final_url=target,
            status="blocked",
            error=f"refused: {host} ({kind}), a non-public address; {GIVE_UP}",
        ),
    )
    assert transport.asked == [f"http://93.184.215.14{path}"]  # never asked for the target


# --- the connect-time check: the address checked is the address connected to ----------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare listening socket on loopback that never answers: it only counts arrivals."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _arrivals(listener: socket.socket, wait: float = 0.2) -> int:
    """How many TCP connections reached ``listener`` (accepted and closed here)."""
    count = 0
    listener.settimeout(wait)
    while True:
        try:
            conn, _peer = listener.accept()
        except TimeoutError:
            return count
        conn.close()
        count += 1


@pytest.mark.parametrize(
    ("host", "where"),
    [
        ("127.0.0.1", "127.0.0.1 (loopback)"),
        ("localhost", "localhost resolves to 127.0.0.1 (loopback)"),
    ],
)
def test_pinned_backend_refuses_before_connecting(
    listener: socket.socket, host: str, where: str
) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(UnsafeURLError) as caught:
        PinnedBackend(check=True).connect_tcp(host, port, timeout=1.0)
    assert str(caught.value) == f"refused: {where}, a non-public address; {GIVE_UP}"
    assert _arrivals(listener) == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_pinned_backend_connects_when_not_checking(listener: socket.socket, host: str) -> None:
    port = listener.getsockname()[1]
    stream = PinnedBackend(check=False).connect_tcp(host, port, timeout=1.0)
    try:
        listener.settimeout(1.0)
        conn, _peer = listener.accept()
        with conn:
            stream.write(b"ping", timeout=1.0)
            assert conn.recv(4) == b"ping"
    finally:
        stream.close()
    assert _arrivals(listener) == 0  # exactly the one connection


def test_pinned_backend_unresolvable_host_is_a_connect_error() -> None:
    with pytest.raises(httpcore.ConnectError) as caught:
        PinnedBackend(check=True).connect_tcp("nonexistent.invalid", 80, timeout=1.0)
    assert str(caught.value).startswith("cannot resolve host nonexistent.invalid: ")


@pytest.mark.parametrize(
    ("host", "where"),
    [
        ("127.0.0.1", "127.0.0.1 (loopback)"),
        ("localhost", "localhost resolves to 127.0.0.1 (loopback)"),
    ],
)
def test_connect_time_check_blocks_what_the_early_check_let_through(
    listener: socket.socket, host: str, where: str
) -> None:
    # The early check sees a public literal; the connection is asked for a local host.
    port = listener.getsockname()[1]
    transport = _ToLocalServer(port, host=host, inner=PinnedTransport(check=True))
    with Fetcher(_config(allow_private_addresses=False), transport=transport) as f:
        result = f.get("http://93.184.215.14/ok")
    _same(
        result,
        FetchResult(
            url="http://93.184.215.14/ok",
            final_url="http://93.184.215.14/ok",
            status="blocked",
            error=f"refused: {where}, a non-public address; {GIVE_UP}",
        ),
    )
    assert transport.asked == ["http://93.184.215.14/ok"]
    assert _arrivals(listener) == 0  # not even a TCP handshake


def test_fetcher_connects_through_the_check_its_config_asks_for(
    listener: socket.socket, server: str
) -> None:
    # Straight to the Fetcher's own transport, past the early check. Client._transport
    # is httpx's private attribute: the only handle on the transport a Client was built with.
    port = listener.getsockname()[1]
    with Fetcher(_config(allow_private_addresses=False)) as f:
        with pytest.raises(UnsafeURLError) as caught:
            # A timeout, so that a transport without the check fails here instead of hanging.
            request = httpx.Request("GET", f"http://127.0.0.1:{port}/", extensions=ONE_SECOND)
            f._client._transport.handle_request(request)
    assert str(caught.value) == f"refused: 127.0.0.1 (loopback), a non-public address; {GIVE_UP}"
    assert _arrivals(listener) == 0
    with Fetcher(_config(allow_private_addresses=True)) as f:
        response = f._client._transport.handle_request(httpx.Request("GET", f"{server}/ok"))
        assert (response.status_code, response.read()) == (200, HTML)


def test_same_route_reaches_the_server_without_the_connect_time_check(server: str) -> None:
    # The control for the test above: the route itself works, the check is what stops it.
    port = httpx.URL(server).port or 0
    transport = _ToLocalServer(port, inner=PinnedTransport(check=False))
    with Fetcher(_config(allow_private_addresses=False), transport=transport) as f:
        result = f.get("http://93.184.215.14/ok")
    assert (result.status, result.body) == ("ok", HTML)


def test_redirects_followed_when_private_allowed(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(f"{server}/hop/2")
    assert (result.status, result.final_url, result.body) == ("ok", f"{server}/hop/0", b"arrived")


def test_slow_drip_hits_the_wall_clock_deadline(server: str) -> None:
    with Fetcher(_config(timeout_seconds=1.0)) as f:
        started = time.monotonic()
        result = f.get(f"{server}/drip")
        took = time.monotonic() - started
    _same(
        result,
        FetchResult(
            url=f"{server}/drip",
            final_url=f"{server}/drip",
            status="timeout",
            http_status=200,
            error="not finished within 1 s (http.timeout_seconds, wall clock)",
        ),
    )
    assert 1.0 <= took < 2.0


def test_connection_reset_mid_body(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(f"{server}/reset")
    assert result.status == "network_error"
    assert result.error is not None
    assert result.error.startswith(("network error (ReadError)", "network error (RemoteProtocol"))
    assert result.body == b""


def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetcher.get(f"http://127.0.0.1:{port}/")
    assert result.status == "network_error"
    assert result.error is not None
    assert result.error.startswith("network error (ConnectError): ")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/json", "bad_content_type"),
        ("/rss", "ok"),
        ("/untyped", "ok"),  # no Content-Type: accepted
        ("/ok", "bad_content_type"),
    ],
)
def test_allowed_types(server: str, fetcher: Fetcher, path: str, status: str) -> None:
    feed_types = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
    result = fetcher.get(f"{server}{path}", allowed_types=feed_types)
    assert result.status == status
    if status == "bad_content_type":
        assert result.error is not None
        assert result.error.startswith("content type ")
        assert result.body == b""


def test_bad_urls_are_results_not_exceptions(fetcher: Fetcher) -> None:
    blocked = fetcher.get("javascript:alert(1)")
    malformed = fetcher.get("http://[::1/")
    assert (blocked.status, malformed.status) == ("blocked", "blocked")
    assert (
        blocked.error
        == "refused: scheme 'javascript' in 'javascript:alert(1)' is not http or https"
    )


# --- the SSRF forms an attacker tries, each aimed at a live local port -----------------

# (URL with {port}, what the refusal names). Other spellings of the same addresses are
# above: the plain literals, localhost and 2130706433, the bad schemes.
SSRF_FORMS = [
    ("http://0x7f000001:{port}/", "0x7f000001 resolves to 127.0.0.1 (loopback)"),
    ("http://017700000001:{port}/", "017700000001 resolves to 127.0.0.1 (loopback)"),
    ("http://0x7f.0x0.0x0.0x1:{port}/", "0x7f.0x0.0x0.0x1 resolves to 127.0.0.1 (loopback)"),
    ("http://127.1:{port}/", "127.1 resolves to 127.0.0.1 (loopback)"),
    ("http://127.0.1:{port}/", "127.0.1 resolves to 127.0.0.1 (loopback)"),
    ("http://0:{port}/", "0 resolves to 0.0.0.0 (unspecified)"),
    ("http://0177.0.0.1:{port}/", "malformed URL"),
    ("http://127.000.000.001:{port}/", "malformed URL"),
    ("http://127.127.127.127:{port}/", "127.127.127.127 (loopback)"),
    ("http://0.0.0.0:{port}/", "0.0.0.0 (unspecified)"),
    ("http://LOCALHOST:{port}/", "localhost resolves to 127.0.0.1 (loopback)"),
    ("HTTP://127.0.0.1:{port}/", "127.0.0.1 (loopback)"),
    ("http://user:pass@127.0.0.1:{port}/", "127.0.0.1 (loopback)"),
    ("http://example.org@127.0.0.1:{port}/", "127.0.0.1 (loopback)"),
    ("http://127.0.0.1:{port}#@example.org/", "127.0.0.1 (loopback)"),
    ("http://127.0.0.1%2f:{port}/", "(loopback)"),
    ("http://[::]:{port}/", ":: (unspecified)"),
    ("http://[0:0:0:0:0:0:0:1]:{port}/", "0:0:0:0:0:0:0:1 (loopback)"),
    ("http://[::ffff:7f00:1]:{port}/", "IPv4-mapped 127.0.0.1, loopback"),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", "IPv4-mapped 127.0.0.1, loopback"),
    ("http://[::ffff:0:7f00:1]:{port}/", "(reserved)"),
    ("http://[::127.0.0.1]:{port}/", "(reserved)"),
    ("http://[64:ff9b::7f00:1]:{port}/", "NAT64 of 127.0.0.1, loopback"),
    ("http://[::ffff:169.254.169.254]:{port}/", "IPv4-mapped 169.254.169.254, link-local"),
    ("http://[::ffff:a9fe:a9fe]:{port}/", "IPv4-mapped 169.254.169.254, link-local"),
    ("http://[64:ff9b::a9fe:a9fe]:{port}/", "NAT64 of 169.254.169.254, link-local"),
    ("http://[2002:a9fe:a9fe::]:{port}/", "6to4 tunnel address embedding 169.254.169.254"),
    ("http://0xa9fea9fe:{port}/", "0xa9fea9fe resolves to 169.254.169.254 (link-local)"),
    ("http://2852039166:{port}/", "2852039166 resolves to 169.254.169.254 (link-local)"),
    ("http://0251.0376.0251.0376:{port}/", "malformed URL"),
    ("http://[fd00:ec2::254]:{port}/", "fd00:ec2::254 (unique local)"),
    ("http://[fe80::1%25eth0]:{port}/", "(link-local)"),
    ("http://[ff02::1]:{port}/", "ff02::1 (multicast)"),
    ("http://[fec0::1]:{port}/", "fec0::1 (site-local)"),
    ("http://[::ffff:10.0.0.1]:{port}/", "IPv4-mapped 10.0.0.1, private"),
    ("http://10.255.255.255:{port}/", "10.255.255.255 (private)"),
    ("https://172.31.255.255:{port}/", "172.31.255.255 (private)"),
    ("http://192.168.0.1:{port}/", "192.168.0.1 (private)"),
    ("http://100.127.255.255:{port}/", "100.127.255.255 (carrier-grade NAT)"),
    ("http://198.18.0.1:{port}/", "198.18.0.1 (private)"),
    ("http://192.0.2.1:{port}/", "192.0.2.1 (private)"),
    ("http://192.0.0.1:{port}/", "192.0.0.1 (private)"),
    ("http://255.255.255.255:{port}/", "255.255.255.255 (reserved)"),
    ("http://①②⑦.0.0.1:{port}/", "malformed URL"),
    ("http://１２７.０.０.１:{port}/", "malformed URL"),
    ("gopher://127.0.0.1:{port}/_INFO", "scheme 'gopher'"),
    ("dict://127.0.0.1:{port}/stat", "scheme 'dict'"),
    ("ldap://127.0.0.1:{port}/", "scheme 'ldap'"),
    ("jar:http://127.0.0.1:{port}!/", "scheme 'jar'"),
    ("//127.0.0.1:{port}/", "scheme '(none)'"),
]


@pytest.mark.parametrize(("form", "named"), SSRF_FORMS)
def test_every_ssrf_form_is_blocked_before_a_connection(
    listener: socket.socket, form: str, named: str
) -> None:
    url = form.format(port=listener.getsockname()[1])
    with Fetcher(_config(allow_private_addresses=False)) as f:
        result = f.get(url)
    assert result.status == "blocked", result
    assert result.error is not None and result.error.startswith("refused: ")
    assert named in result.error
    assert _arrivals(listener, wait=0.05) == 0


@pytest.mark.parametrize(
    "form",
    [
        "http://169.254.169.254.:{port}/",
        "http://localhost.:{port}/",
        "http://%31%32%37.0.0.1:{port}/",
    ],
)
def test_names_the_resolver_does_not_know_go_nowhere(listener: socket.socket, form: str) -> None:
    with Fetcher(_config(allow_private_addresses=False)) as f:
        result = f.get(form.format(port=listener.getsockname()[1]))
    # Unresolvable here; a resolver that did know the name would answer loopback,
    # which the guard refuses. Either way nothing is sent.
    expected = {"network_error": "cannot resolve host ", "blocked": "refused: "}
    assert result.status in expected
    assert (result.error or "").startswith(expected[result.status])
    assert _arrivals(listener, wait=0.05) == 0
