"""Benchmark of the whole run against a plain async fetcher, on a simulated news site.

The site (a separate process, so its sleeps and sockets do not share our GIL) serves N
RSS feeds of M articles each; every response waits ``--latency`` seconds first. Article
pages are the 181 real pages of ../shared/corpora/article-extraction-benchmark (in
turn), so extraction costs what it costs on real news pages. Feeds carry an ETag and
answer 304 to a matching If-None-Match. Politeness is opened up (``--concurrency``
connections, also per host, no per-host delay) for the monitor and the baseline alike.

Printed side by side, in one run:

* baseline: plain asyncio + httpx (``--concurrency`` connections) fetching every page,
  extracting each in a process pool of ``--extract-processes`` processes with the
  monitor's own extraction (decode + extract), nothing stored;
* ``monitor run`` on SQLite and on PostgreSQL (``--no-postgres`` to skip): collect, then
  fetch (extract, archive) and store (dedup, relevance, stories), detect and send — each
  stage's wall time, CPU ms per page (this process and the extraction workers), commits
  per page; the ratio of the run's pages/s (collect excluded, and whole) to the
  baseline's (goal ≥ 0.8×);
* a plain sequential loop of httpx GET then decode + extract (``--baseline-pages``), and
  extraction alone over the same bodies, one thread (the CPU limit per core);
* warm rerun (SQLite): the same run date again: page fetches (must be 0), feeds
  answered 304, wall time;
* peak RSS of this process and of the largest child.

``--profile FILE`` writes a cProfile of the SQLite run's fetch and store stages.

    PYTHONPATH=src python bench/bench_fetch.py                     # 20 × 25, 100 ms
    PYTHONPATH=src python bench/bench_fetch.py --feeds 10 --articles 20 --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import hashlib
import multiprocessing
import os
import resource
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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


@dataclass
class StageFigures:
    wall: float = 0.0
    cpu: float = 0.0  # seconds: this process plus its finished children (extraction)
    commits: int = 0


@dataclass
class RunFigures:
    database: str
    pages: int = 0
    stages: dict[str, StageFigures] = field(default_factory=dict)

    def total(self, *names: str) -> StageFigures:
        chosen = [self.stages[n] for n in names]
        return StageFigures(
            sum(f.wall for f in chosen), sum(f.cpu for f in chosen), sum(f.commits for f in chosen)
        )


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _monitor_run(cfg: Any, database: str, profile: Path | None) -> RunFigures:
    """The stages of ``monitor run`` one after another, each measured."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from monitor import pipeline

    figures = RunFigures(database)
    commits = [0]

    def seen(_connection: object) -> None:
        commits[0] += 1

    pipeline.init(cfg)
    event.listen(Engine, "commit", seen)
    profiler = cProfile.Profile() if profile is not None else None
    results: dict[str, Any] = {}
    try:

        def stage(name: str, call: Any, profiled: bool = False) -> Any:
            commits[0] = 0
            wall, cpu = time.perf_counter(), _cpu()
            if profiler is not None and profiled:
                profiler.enable()
            try:
                out = call()
            finally:
                if profiler is not None and profiled:
                    profiler.disable()
            figures.stages[name] = StageFigures(
                time.perf_counter() - wall, _cpu() - cpu, commits[0]
            )
            return out

        day = RUN_DATE
        results["collect"] = stage("collect", lambda: pipeline.collect_feeds(cfg, day))
        results["fetch"] = stage(
            "fetch",
            lambda: pipeline.fetch_articles(cfg, results["collect"].entry_ids, day),
            profiled=True,
        )
        results["store"] = stage(
            "store",
            lambda: pipeline.store_articles(cfg, day, results["fetch"].entry_ids),
            profiled=True,
        )
        results["detect"] = stage(
            "detect", lambda: pipeline.detect_changes(cfg, day, results["store"].article_ids)
        )
        stage(
            "send",
            lambda: pipeline.send_and_report(
                cfg,
                day,
                results["collect"],
                results["fetch"],
                results["store"],
                results["detect"],
                raise_on_delivery_error=False,
            ),
        )
    finally:
        event.remove(Engine, "commit", seen)
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    figures.pages = results["fetch"].pages_ok
    return figures


def _read(body: bytes, headers: dict[str, str], url: str) -> int:
    """The monitor's own decode + extract, in a worker process (only the text's length
    comes back: the baseline keeps nothing)."""
    from monitor import pages

    return len(pages.read_page(body, headers, url).text)


async def _plain_async(urls: list[str], concurrency: int, processes: int) -> int:
    """The baseline: asyncio + httpx fetching every URL, a process pool extracting."""
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with ProcessPoolExecutor(max(processes, 1), mp_context=context) as pool:
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def one(url: str) -> int:
                async with gate:
                    response = await client.get(url)
                return await loop.run_in_executor(
                    pool, _read, response.content, dict(response.headers), url
                )

            sizes = await asyncio.gather(*(one(url) for url in urls))
    return sum(1 for size in sizes if size)


def _config(tmp: Path, base: str, args: argparse.Namespace, feeds: int, db_url: str) -> Any:
    from monitor.config import load_config

    path = tmp / "bench.yaml"
    lines = "".join(f"  - name: Feed {i}\n    url: {base}/feed/{i}.xml\n" for i in range(feeds))
    path.write_text(
        f"data_dir: {tmp}\nhttp:\n  allow_private_addresses: true\n"
        f"  max_concurrency: {args.concurrency}\n"
        f"  extract_processes: {args.extract_processes}\n"
        f"  per_host_concurrency: {args.concurrency}\n  per_host_delay_seconds: 0\n"
        f"  max_entries_per_feed: {max(args.articles, 1)}\nfeeds:\n{lines}"
        "alerts:\n  recipients: [analyst@example.org]\n  sender: monitor@example.org\n",
        encoding="utf-8",
    )
    return load_config(path, env={"MONITOR_DATABASE_URL": db_url})


def _postgres(admin_url: str) -> tuple[str, Any] | None:
    """A fresh PostgreSQL database and how to drop it, or None when none is reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc.orig).strip().splitlines()[0]}")
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), drop


def _ratio(run: RunFigures, plain_rate: float) -> float:
    """The run's pages/s (every stage but collect) over the plain baseline's."""
    return run.pages / run.total("fetch", "store", "detect", "send").wall / plain_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20, help="N feeds (default 20)")
    parser.add_argument("--articles", type=int, default=25, help="M articles per feed (25)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request (0.1)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (32)")
    parser.add_argument(
        "--extract-processes", type=int, default=2, help="http.extract_processes (0: threads)"
    )
    parser.add_argument(
        "--baseline-pages", type=int, default=100, help="pages for the sequential loop (100)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where this user may CREATE DATABASE",
    )
    parser.add_argument("--profile", type=Path, help="cProfile of the SQLite fetch+store here")
    args = parser.parse_args()

    from monitor import extract, pipeline

    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(port_queue, args.articles, args.latency, stop))
    server.start()
    port = port_queue.get(timeout=30)
    base = f"http://127.0.0.1:{port}"
    total = args.feeds * args.articles
    urls = [f"{base}/a/{f}/{i}.html" for f in range(args.feeds) for i in range(args.articles)]
    runs: list[RunFigures] = []
    try:
        # The baseline first; the site serves every page alike each time (no cache).
        started = time.perf_counter()
        plain_ok = asyncio.run(_plain_async(urls, args.concurrency, args.extract_processes))
        plain = time.perf_counter() - started

        with tempfile.TemporaryDirectory() as tmp:
            cfg = _config(Path(tmp), base, args, args.feeds, f"sqlite:///{tmp}/b.db")
            runs.append(_monitor_run(cfg, "SQLite", args.profile))
            assert runs[-1].pages == total, runs[-1]

            before = _counts(base)
            started = time.perf_counter()
            again = pipeline.collect_feeds(cfg, RUN_DATE)
            pipeline.fetch_articles(cfg, again.entry_ids, RUN_DATE)
            warm = time.perf_counter() - started
            after = _counts(base)

        postgres = None if args.no_postgres else _postgres(args.postgres_url)
        if postgres is not None:
            pg_url, drop = postgres
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    cfg = _config(Path(tmp), base, args, args.feeds, pg_url)
                    runs.append(_monitor_run(cfg, "PostgreSQL", None))
            finally:
                drop()

        # The same pages, sequentially, with a plain client: GET, then extract.
        bodies: list[tuple[bytes, str, str]] = []
        started = time.perf_counter()
        with httpx.Client() as client:
            for url in urls[: args.baseline_pages]:
                response = client.get(url)
                html = extract.decode_html(response.content, response.headers["content-type"])
                extract.extract_page(html, url)
                bodies.append((response.content, response.headers["content-type"], url))
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        for body, content_type, url in bodies:
            extract.extract_page(extract.decode_html(body, content_type), url)
        extraction = time.perf_counter() - started
    finally:
        stop.set()
        server.join(timeout=10)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The largest child: an extraction worker (the site's process included).
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    plain_rate = total / plain
    limit = len(bodies) / extraction
    print(
        f"simulated site: {args.feeds} feeds × {args.articles} articles = {total} pages, "
        f"{args.latency * 1000:g} ms per request, {args.concurrency} connections (also per "
        f"host, no delay), extraction processes {args.extract_processes}"
    )
    print(f"{'':44}{'pages/s':>9}{'wall s':>9}{'× plain':>9}{'commits/page':>14}")
    print(f"{'plain asyncio+httpx+process pool':44}{plain_rate:9.1f}{plain:9.1f}{1:9.2f}{'-':>14}")
    for run in runs:
        for label, names in (
            ("fetch + store", ("fetch", "store")),
            ("run minus collect", ("fetch", "store", "detect", "send")),
        ):
            figures = run.total(*names)
            rate = run.pages / figures.wall
            name = f"monitor run, {run.database}: {label}"
            print(
                f"{name[:44]:44}{rate:9.1f}{figures.wall:9.1f}{rate / plain_rate:9.2f}"
                f"{figures.commits / run.pages:14.3f}"
            )
    print(f"{'sequential fetch-then-extract':44}{len(bodies) / sequential:9.1f}{sequential:9.1f}")
    print(f"{'extraction only (1 thread)':44}{limit:9.1f}{extraction:9.1f}")
    print()
    print(
        f"{'per stage':14}"
        + "".join(f"{r.database + ' wall s':>20}" for r in runs)
        + "".join(f"{r.database + ' CPU ms/page':>24}" for r in runs)
        + "".join(f"{r.database + ' commits':>22}" for r in runs)
    )
    for name in ("collect", "fetch", "store", "detect", "send"):
        print(
            f"{name:14}"
            + "".join(f"{r.stages[name].wall:20.1f}" for r in runs)
            + "".join(f"{r.stages[name].cpu * 1000 / r.pages:24.1f}" for r in runs)
            + "".join(f"{r.stages[name].commits:22}" for r in runs)
        )
    print(f"baseline CPU is not split by stage; plain pages extracted: {plain_ok}/{total}")
    print(
        f"warm rerun: {warm:.2f} s, page fetches {after[0] - before[0]}, "
        f"feeds {after[1] - before[1]} requested, {after[2] - before[2]} answered 304"
    )
    cold = runs[0].total("collect", "fetch", "store")
    cold_rate = total / cold.wall
    print(
        f"cold / extraction-only = {cold_rate / limit:.0%}; "
        f"cold / sequential = {cold_rate / (len(bodies) / sequential):.1f}×; "
        "whole run minus collect / plain async = "
        + ", ".join(f"{r.database} {_ratio(r, plain_rate):.2f}×" for r in runs)
        + " (goal ≥ 0.8×)"
    )
    print(f"peak RSS {peak_mb:.0f} MB (largest child process {child_mb:.0f} MB)")


if __name__ == "__main__":
    main()
