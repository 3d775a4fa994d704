"""Every file of feedparser's own test corpus (../shared/corpora/feedparser-tests/)
through the project's feed stage, served by a local HTTP server with the headers the
file asks for (its ``Header:`` lines): no crash, a status per feed, entries normalized.
Prints the tally."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from monitor import feeds
from monitor.config import FeedConfig, HttpConfig
from monitor.politeness import PoliteFetcher
from monitor.records import FeedResult

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT / ".." / "shared" / "corpora" / "feedparser-tests").resolve()
if not CORPUS.is_dir():  # a worktree sits one level deeper than the main checkout
    CORPUS = Path("/work/shared/corpora/feedparser-tests")
_HEADER = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.M)


def _headers_of(body: bytes) -> list[tuple[str, str]]:
    head = body[:2000].replace(b"\0", b"")  # UTF-16/32 files carry them too
    return [(k.decode("ascii"), v.decode("latin-1")) for k, v in _HEADER.findall(head)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = (CORPUS / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        if CORPUS not in path.parents or not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = path.read_bytes()
        headers = _headers_of(body)
        self.send_response(200)
        if not any(k.lower() == "content-type" for k, _ in headers):
            default = "application/json" if path.suffix == ".json" else "application/xml"
            headers.append(("Content-Type", default))
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def corpus_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _check(result: FeedResult) -> list[str]:
    """What is wrong with one feed's result (nothing, for a good one)."""
    problems = []
    if result.status not in ("ok", "failed"):
        problems.append(f"status {result.status!r}")
    if result.status == "failed" and not result.error:
        problems.append("failed without a reason")
    for entry in result.entries:
        parts = urlsplit(entry.link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"link not absolute http(s): {entry.link!r}")
        if entry.link != entry.link.strip() or entry.title != entry.title.strip():
            problems.append("untrimmed link or title")
        if unicodedata.normalize("NFC", entry.title) != entry.title:
            problems.append("title not NFC")
        if entry.published_at is not None and entry.published_at.tzinfo != UTC:
            problems.append("published_at not UTC")
    return problems


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_every_corpus_feed_gets_a_status(corpus_server, capsys):
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".xml", ".json"))
    assert len(files) >= 2106
    http = HttpConfig(
        allow_private_addresses=True,
        per_host_concurrency=8,
        per_host_delay_seconds=0,
        retries=0,
        timeout_seconds=10,
    )

    def run(path: Path) -> tuple[Path, FeedResult]:
        rel = path.relative_to(CORPUS).as_posix()
        feed = FeedConfig(name=rel, url=f"{corpus_server}/{rel}")
        return path, feeds.fetch_feed(feed, fetcher)

    with PoliteFetcher(http) as fetcher, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, files))

    tally: Counter[tuple[str, str]] = Counter()
    formats: Counter[str] = Counter()
    entries = 0
    problems: dict[str, list[str]] = {}
    for path, result in results:
        folder = path.relative_to(CORPUS).parts[0]
        tally[(folder, result.status)] += 1
        formats[result.format or "-"] += 1
        entries += len(result.entries)
        found = _check(result)
        if found:
            problems[path.relative_to(CORPUS).as_posix()] = found
    with capsys.disabled():
        print(f"\nfeedparser corpus: {len(results)} feeds, {entries} entries with links")
        for folder in sorted({f for f, _ in tally}):
            counts = ", ".join(f"{s} {n}" for (f, s), n in sorted(tally.items()) if f == folder)
            print(f"  {folder:10} {counts}")
        print("  formats    " + ", ".join(f"{k} {v}" for k, v in formats.most_common()))
    assert problems == {}
    assert len(results) == len(files)
