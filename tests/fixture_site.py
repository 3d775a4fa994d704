"""A small real HTTP server for the fixture news site in ``tests/fixtures/site``.

Tests and ``make demo`` use it in place of the public feeds::

    with FixtureSite() as site:
        feed_url = site.url("/feeds/wire.xml")
        ...
        assert site.hits("/articles/typhoon-taipei.html") == 1

What it does:

* serves the files under ``root``; in ``.xml``, ``.atom``, ``.json`` and ``.html`` files
  the literal text ``{{BASE}}`` becomes :attr:`FixtureSite.base_url`, so feeds carry
  absolute links to articles on whatever port the server got;
* ``/status/<code>`` answers with that HTTP status (200–599) and a short text body;
* anything else, including paths that leave ``root``, is a 404;
* every request path (as sent, query string included) is appended to
  :attr:`FixtureSite.requests`;
* responses carry an ``ETag`` and honour ``If-None-Match`` with ``304 Not Modified``;
* :attr:`FixtureSite.aliases` maps a URL path to another file's path, so a test can
  move a feed on from one day's file to the next
  (``site.aliases["/feeds/strait.xml"] = "/feeds/strait/2026-09-02.xml"``);
* :attr:`FixtureSite.delay` (seconds, default 0) holds every answer that long: a slow
  host.

Run it on its own with ``python tests/fixture_site.py --port 8765``; it serves until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import signal
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from urllib.parse import unquote, urlsplit

DEFAULT_ROOT = Path(__file__).resolve().parent / "fixtures" / "site"
BASE_PLACEHOLDER = b"{{BASE}}"
SUBSTITUTED_SUFFIXES = frozenset({".xml", ".atom", ".json", ".html"})
CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_STATUS_PATH = re.compile(r"/status/(\d{3})/?")


class _Server(ThreadingHTTPServer):
    """The HTTP server, holding a back reference to its :class:`FixtureSite`."""

    daemon_threads = True
    site: FixtureSite


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FixtureSite/1.0"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silenced: tests and the demo want a quiet server."""

    def _respond(self, *, send_body: bool) -> None:
        site = self.server.site
        site._record(self.path)
        if site.delay:
            time.sleep(site.delay)
        path = unquote(urlsplit(self.path).path)
        status = _STATUS_PATH.fullmatch(path)
        if status is not None:
            self._status_route(int(status.group(1)), send_body=send_body)
            return
        file = site._resolve(path)
        if file is None:
            self._text(HTTPStatus.NOT_FOUND, "404 Not Found\n", send_body=send_body)
            return
        body = file.read_bytes()
        if file.suffix.lower() in SUBSTITUTED_SUFFIXES:
            body = body.replace(BASE_PLACEHOLDER, site.base_url.encode("ascii"))
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in {tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")}:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        content_type = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _status_route(self, code: int, *, send_body: bool) -> None:
        if not 200 <= code <= 599:
            self._text(HTTPStatus.NOT_FOUND, "404 Not Found\n", send_body=send_body)
            return
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Status"
        if code in (204, 304):
            self.send_response(code, phrase)
            self.end_headers()
            return
        self._text(code, f"{code} {phrase}\n", send_body=send_body, phrase=phrase)

    def _text(self, code: int, text: str, *, send_body: bool, phrase: str | None = None) -> None:
        body = text.encode("utf-8")
        self.send_response(code, phrase)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class FixtureSite:
    """The fixture site served on a local port for the duration of a ``with`` block."""

    def __init__(self, root: Path = DEFAULT_ROOT, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.base_url = ""
        self.requests: list[str] = []
        self.aliases: dict[str, str] = {}
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FixtureSite:
        server = _Server((self.host, self.port), _Handler)
        server.site = self
        host, port = server.server_address[:2]
        self.port = int(port)
        self.base_url = f"http://{host!s}:{self.port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-site-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close the listening socket (safe to call twice)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def url(self, path: str) -> str:
        """Absolute URL of a path on the site: ``url("/feeds/wire.xml")``."""
        return self.base_url + "/" + path.lstrip("/")

    def hits(self, path: str) -> int:
        """How many requests asked for ``path`` (query strings ignored)."""
        wanted = urlsplit(path).path
        with self._lock:
            return sum(1 for seen in self.requests if urlsplit(seen).path == wanted)

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def _resolve(self, path: str) -> Path | None:
        """The file a URL path names, or None when there is none inside ``root``."""
        if "\x00" in path:
            return None
        path = self.aliases.get(path, path)
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the fixture news site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with FixtureSite(args.root, host=args.host, port=args.port) as site:
        print(f"fixture site on {site.base_url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
