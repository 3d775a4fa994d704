"""A misbehaving web server on 127.0.0.1 for the fetching tests.

Every route answers the way some real server out there does on a bad day::

    with FaultServer() as faults:
        faults.url("/bomb")            # a gzip body that would inflate to 10 GB
        faults.peak_in_flight          # most requests it ever served at the same time
        faults.hits("/robots.txt")     # how often a path was asked for

Routes are listed in :data:`ROUTES`; ``/feed/<name>`` serves :attr:`FaultServer.feeds`
(bytes, content type) with the extra headers of :attr:`FaultServer.feed_headers`,
``/page/<name>`` the HTML of :attr:`FaultServer.pages` or else a small article page, and
``/slow-page/<n>`` an article page after ``delay`` seconds (to count concurrency).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

ARTICLE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
    "</head><body><article><h1>{title}</h1>"
    "<p>Taiwan's chipmakers and the United States discussed tariffs on semiconductors "
    "again this week, with officials from both sides describing the talks as useful.</p>"
    "<p>Negotiators met in Washington on Monday and are due to meet again in Taipei next "
    "month, according to people familiar with the schedule of the talks.</p>"
    "<p>Analysts said the outcome would shape where new fabs are built over the decade.</p>"
    "</article></body></html>"
)


def _bomb_blocks() -> tuple[bytes, bytes]:
    """A gzip header+first block and a repeatable deflate block of 1 MiB of zeros.

    After a full flush the compressor's state is reset, so every further MiB of zeros
    compresses to the same bytes: the bomb is streamed without ever being built.
    """
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"\0" * (1 << 20)
    first = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
    again = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first, again


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        owner._enter(path, dict(self.headers.items()))
        try:
            route = ROUTES.get(path)
            if route is None:
                prefix = "/" + path.split("/")[1] + "/"
                route = PREFIX_ROUTES.get(prefix, _not_found)
            route(self, path)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client hung up: that is what the caps and deadlines are for
        finally:
            owner._leave()

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

    def stream(self, chunks: Callable[[], object], content_type: str, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunks()


def _not_found(h: _Handler, path: str) -> None:
    h.send(404, b"not here", "text/plain")


def _feed(h: _Handler, path: str) -> None:
    name = path.split("/", 2)[2]
    found = h.server.owner.feeds.get(name)
    if found is None:
        _not_found(h, path)
        return
    body, content_type = found
    h.send(200, body, content_type, **h.server.owner.feed_headers.get(name, {}))


def _etag_feed(h: _Handler, path: str) -> None:
    # Like /feed/, with an ETag and Last-Modified, answering 304 to a matching validator.
    name = path.split("/", 2)[2]
    found = h.server.owner.feeds.get(name)
    if found is None:
        _not_found(h, path)
        return
    body, content_type = found
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    modified = "Mon, 02 Nov 2026 08:00:00 GMT"
    if h.headers.get("If-None-Match") == etag:
        h.send(304, b"", None, ETag=etag)
        return
    h.send(200, body, content_type, ETag=etag, Last_Modified=modified)


def _page(h: _Handler, path: str) -> None:
    name = path.rsplit("/", 1)[1]
    html = h.server.owner.pages.get(name) or ARTICLE.format(title=name.replace("-", " "))
    h.send(200, html.encode(), "text/html; charset=utf-8")


def _slow_page(h: _Handler, path: str) -> None:
    time.sleep(h.server.owner.delay)
    _page(h, path)


def _retry_later(h: _Handler, path: str) -> None:
    # 429 with Retry-After: 1 on the first request, then the page.
    owner = h.server.owner
    if owner.hits(path) == 1:
        h.send(429, b"slow down", "text/plain", Retry_After="1")
    else:
        _page(h, path)


def _flaky(h: _Handler, path: str) -> None:
    # 503 twice (no Retry-After), then the page.
    if h.server.owner.hits(path) <= 2:
        h.send(503, b"try again", "text/plain")
    else:
        _page(h, path)


def _slowloris(h: _Handler, path: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(100_000):
        if h.server.owner.stopping.wait(0.1):
            return
        h.wfile.write(b"x")
        h.wfile.flush()


def _reset(h: _Handler, path: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "50000")
    h.end_headers()
    h.wfile.write(b"<html>" + b"x" * 1000)
    h.wfile.flush()
    h.close_connection = True
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()


def _truncated_gzip(h: _Handler, path: str) -> None:
    whole = gzip.compress(ARTICLE.format(title="cut short").encode() * 20)
    body = whole[: len(whole) // 2]
    h.send(200, body, "text/html", Content_Encoding="gzip")


def _bomb(h: _Handler, path: str) -> None:
    first, again = _bomb_blocks()

    def chunks() -> None:
        h.wfile.write(first)
        for _ in range(10 * 1024 - 1):  # 10 GiB inflated in all
            h.wfile.write(again)

    h.stream(chunks, "text/html", Content_Encoding="gzip")


def _gigabyte(h: _Handler, path: str) -> None:
    block = b"<p>" + b"x" * 65_530 + b"</p>"

    def chunks() -> None:
        for _ in range((1 << 30) // len(block)):
            h.wfile.write(block)

    h.stream(chunks, "text/html")


def _gigabyte_declared(h: _Handler, path: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", str(1 << 30))
    h.end_headers()
    h.wfile.write(b"x" * 1000)


def _redirect(target: str) -> Callable[[_Handler, str], None]:
    return lambda h, path: h.send(302, b"", None, Location=target)


ROUTES: dict[str, Callable[[_Handler, str], None]] = {
    "/500": lambda h, p: h.send(500, b"boom", "text/plain"),
    "/429": _retry_later,
    "/429-long": lambda h, p: h.send(429, b"come back tomorrow", "text/plain", Retry_After="86400"),
    "/503-flaky": _flaky,
    "/slowloris": _slowloris,
    "/reset": _reset,
    "/truncated-gzip": _truncated_gzip,
    "/bomb": _bomb,
    "/gigabyte": _gigabyte,
    "/gigabyte-declared": _gigabyte_declared,
    "/loop": _redirect("/loop"),
    "/to-127": _redirect("http://127.0.0.1/admin"),
    "/to-metadata": _redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-v6-loopback": _redirect("http://[::1]/"),
    "/to-10": _redirect("http://10.0.0.1/"),
    "/robots.txt": lambda h, p: h.send(
        h.server.owner.robots_status, h.server.owner.robots.encode(), "text/plain; charset=utf-8"
    ),
}
PREFIX_ROUTES: dict[str, Callable[[_Handler, str], None]] = {
    "/feed/": _feed,
    "/etag-feed/": _etag_feed,
    "/page/": _page,
    "/private/": _page,
    "/slow-page/": _slow_page,
}


class FaultServer:
    """The server, its request log and its concurrency counter."""

    def __init__(
        self,
        *,
        delay: float = 0.2,
        robots: str = "User-agent: *\nAllow: /\n",
        host: str = "127.0.0.1",
    ) -> None:
        self.delay = delay
        self.robots = robots
        self.robots_status = 200
        self.feeds: dict[str, tuple[bytes, str]] = {}
        self.feed_headers: dict[str, dict[str, str]] = {}
        self.pages: dict[str, str] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self.request_headers: list[dict[str, str]] = []
        self.starts: list[tuple[str, float]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        # host "::1" serves on the IPv6 loopback (OSError where the machine has none).
        self.host = host
        server_class = _Server6 if ":" in host else _Server
        self._httpd = server_class((host, 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def _enter(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._hits[path] += 1
            self.starts.append((path, time.monotonic()))
            self.request_headers.append(headers)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
