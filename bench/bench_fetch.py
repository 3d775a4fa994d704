"""Benchmark of the fetching stages against a simulated news site on 127.0.0.1.

The site (a separate process, so its sleeps and sockets do not share our GIL) serves N
RSS feeds of M articles each; every response waits ``--latency`` seconds first. Article
pages are the 181 real pages of ../shared/corpora/article-extraction-benchmark (in
turn), so extraction costs what it costs on real news pages. Feeds carry an ETag and
answer 304 to a matching If-None-Match.

Printed side by side, in one run:

* cold run: ``collect_feeds`` + ``fetch_articles`` on an empty SQLite database (fetch,
  decode, extract, archive and save every page), articles/s end to end;
* baseline: a plain sequential loop of httpx GET then decode + extract over the same
  pages (on the first ``--baseline-pages`` of them, to keep the run short);
* extraction only: decode + extract over the same page bodies held in memory, one
  thread (the CPU limit of this machine for the extractor);
* warm rerun: the same run date again: page fetches (must be 0), feeds answered 304,
  wall time;
* peak RSS of this process.

    PYTHONPATH=src python bench/bench_fetch.py                     # 100 × 50, 100 ms
    PYTHONPATH=src python bench/bench_fetch.py --feeds 10 --articles 20 --latency 0.05
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import multiprocessing
import resource
import tempfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = next(
    (
        p
        for p in (
            ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark" / "html",
            Path("/work/shared/corpora/article-extraction-benchmark/html"),
        )
        if p.is_dir()
    ),
    None,
)
RUN_DATE = date(2026, 11, 2)


def _pages() -> list[bytes]:
    if CORPUS is None:
        raise SystemExit("article-extraction-benchmark corpus not found")
    return [gzip.decompress(p.read_bytes()) for p in sorted(CORPUS.glob("*.html.gz"))]


def _feed(port: int, feed: int, articles: int) -> bytes:
    items = "".join(
        f"<item><title>Story {feed}-{i}</title>"
        f"<link>http://127.0.0.1:{port}/a/{feed}/{i}.html</link><guid>{feed}-{i}</guid>"
        f"<description>Summary of story {feed}-{i}</description>"
        f"<pubDate>Mon, 02 Nov 2026 {i % 24:02d}:00:00 +0000</pubDate></item>"
        for i in range(articles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>http://127.0.0.1:{port}/</link>{items}</channel></rss>"
    ).encode()


def _serve(port_out: Any, articles: int, latency: float, stop: Any) -> None:
    pages = _pages()
    counts = {"pages": 0, "feeds": 0, "feeds_304": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            time.sleep(latency)
            parts = self.path.strip("/").split("/")
            port = self.server.server_address[1]
            if parts[0] == "feed":
                body = _feed(port, int(parts[1].removesuffix(".xml")), articles)
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                with lock:
                    counts["feeds"] += 1
                if self.headers.get("If-None-Match") == etag:
                    with lock:
                        counts["feeds_304"] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(200, body, "application/rss+xml", ETag=etag)
            elif parts[0] == "a":
                feed, item = int(parts[1]), int(parts[2].removesuffix(".html"))
                with lock:
                    counts["pages"] += 1
                page = pages[(feed * articles + item) % len(pages)]
                self._send(200, page, "text/html; charset=utf-8")
            elif parts[0] == "counts":
                with lock:
                    text = f"{counts['pages']} {counts['feeds']} {counts['feeds_304']}"
                self._send(200, text.encode(), "text/plain")
            else:
                self._send(404, b"", "text/plain")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    httpd = Server(("127.0.0.1", 0), Handler)
    port_out.put(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stop.wait()
    httpd.shutdown()


def _counts(base: str) -> tuple[int, int, int]:
    pages, feeds, not_modified = httpx.get(f"{base}/counts").text.split()
    return int(pages), int(feeds), int(not_modified)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100, help="N feeds (default 100)")
    parser.add_argument("--articles", type=int, default=50, help="M articles per feed (50)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request (0.1)")
    parser.add_argument("--concurrency", type=int, default=16, help="http.max_concurrency")
    parser.add_argument(
        "--extract-processes", type=int, default=2, help="http.extract_processes (0: threads)"
    )
    parser.add_argument(
        "--baseline-pages", type=int, default=300, help="pages for the sequential baseline"
    )
    args = parser.parse_args()

    from monitor import extract, pipeline
    from monitor.config import load_config

    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(port_queue, args.articles, args.latency, stop))
    server.start()
    port = port_queue.get(timeout=30)
    base = f"http://127.0.0.1:{port}"
    total = args.feeds * args.articles
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "bench.yaml"
            feeds = "".join(
                f"  - name: Feed {i}\n    url: {base}/feed/{i}.xml\n" for i in range(args.feeds)
            )
            config.write_text(
                f"data_dir: {tmp}\nhttp:\n  allow_private_addresses: true\n"
                f"  max_concurrency: {args.concurrency}\n"
                f"  extract_processes: {args.extract_processes}\n"
                f"  per_host_concurrency: {args.concurrency}\n  per_host_delay_seconds: 0\n"
                f"  max_entries_per_feed: {max(args.articles, 1)}\nfeeds:\n{feeds}",
                encoding="utf-8",
            )
            cfg = load_config(config, env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp}/b.db"})
            pipeline.init(cfg)

            started = time.perf_counter()
            collected = pipeline.collect_feeds(cfg, RUN_DATE)
            fetched = pipeline.fetch_articles(cfg, collected.entry_ids)
            cold = time.perf_counter() - started
            cold_pages, _, _ = _counts(base)
            assert fetched.pages_ok == total, fetched

            before = _counts(base)
            started = time.perf_counter()
            again = pipeline.collect_feeds(cfg, RUN_DATE)
            pipeline.fetch_articles(cfg, again.entry_ids)
            warm = time.perf_counter() - started
            after = _counts(base)

        # The same pages, sequentially, with a plain client: GET, then extract.
        urls = [f"{base}/a/{f}/{i}.html" for f in range(args.feeds) for i in range(args.articles)][
            : args.baseline_pages
        ]
        bodies: list[tuple[bytes, str, str]] = []
        started = time.perf_counter()
        with httpx.Client() as client:
            for url in urls:
                response = client.get(url)
                html = extract.decode_html(response.content, response.headers["content-type"])
                extract.extract_page(html, url)
                bodies.append((response.content, response.headers["content-type"], url))
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        for body, content_type, url in bodies:
            extract.extract_page(extract.decode_html(body, content_type), url)
        extraction = time.perf_counter() - started
    finally:
        stop.set()
        server.join(timeout=10)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The largest child: an extraction worker (the site's process is not waited for).
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cold_rate = total / cold
    limit = len(bodies) / extraction
    print(
        f"simulated site: {args.feeds} feeds × {args.articles} articles = {total} pages, "
        f"{args.latency * 1000:g} ms per request, concurrency {args.concurrency}, "
        f"extraction processes {args.extract_processes}"
    )
    print(f"{'':34}{'articles/s':>12}{'wall s':>10}{'pages':>8}")
    print(f"{'cold run (fetch+extract+store)':34}{cold_rate:12.1f}{cold:10.1f}{cold_pages:8}")
    print(
        f"{'sequential fetch-then-extract':34}{len(urls) / baseline:12.1f}{baseline:10.1f}"
        f"{len(urls):8}"
    )
    print(f"{'extraction only (1 thread)':34}{limit:12.1f}{extraction:10.1f}{len(bodies):8}")
    print(
        f"warm rerun: {warm:.2f} s, page fetches {after[0] - before[0]}, "
        f"feeds {after[1] - before[1]} requested, {after[2] - before[2]} answered 304"
    )
    print(
        f"cold / extraction-only = {cold_rate / limit:.0%} (goal ≥ 80%); "
        f"cold / sequential = {cold_rate / (len(urls) / baseline):.1f}×; "
        f"peak RSS {peak_mb:.0f} MB (largest child process {child_mb:.0f} MB)"
    )


if __name__ == "__main__":
    main()
