"""Warm rerun of a whole ``monitor run`` over many feeds with nothing new (issue 10:
1,000 feeds in under 5 s).

A simulated site (a separate process, so its sleeps and sockets do not share our GIL)
serves ``--feeds`` RSS feeds of ``--articles`` items each (those of every
``--fresh-every``-th feed dated on the run's day, the others' a month before, so the
cold run stays short), with an ETag, and answers 304 to a matching If-None-Match;
every response waits ``--latency`` seconds first.
Pages are small synthetic news pages (the point is the feeds, not extraction). The
first run of the day (cold: every page fetched, extracted, stored) fills the
database; the second run of the same day is the warm rerun: every feed answers 304,
nothing is fetched, stored or detected. Printed: wall time of each stage of the warm
rerun (collect, fetch, store, detect, send), database commits, requests the site saw,
with ``--baseline-src`` the same figures for another checkout's ``src`` (main, say),
run in a subprocess, side by side.

    PYTHONPATH=src python bench/bench_warm.py                        # 1000 feeds, SQLite
    PYTHONPATH=src python bench/bench_warm.py --postgres             # and PostgreSQL
    PYTHONPATH=src python bench/bench_warm.py --baseline-src ../main/src
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RUN_DATE = date(2026, 11, 2)
PG_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STAGES = ("collect_feeds", "collect_done", "fetch_articles", "store_articles", "detect_changes")
WORDS = (
    "the ministry said exports of semiconductors rose in october as demand for servers "
    "grew and shipments to the united states reached a record while officials in taipei "
    "watched the talks on tariffs closely and analysts expected more orders next quarter"
).split()


def _page(feed: int, item: int, pad: int = 0) -> bytes:
    """A small news page: a title, a date, five paragraphs of ordinary words, and an
    inline script of ``pad`` bytes (the weight of a real page's scripts and data)."""
    paragraphs = "".join(
        "<p>"
        + " ".join(WORDS[(feed * 7 + item * 3 + p * 5 + w) % len(WORDS)] for w in range(60))
        + ".</p>"
        for p in range(5)
    )
    script = f"var state{feed}_{item} = [" + ",".join("0" for _ in range(pad // 2)) + "];"
    return (
        f"<html><head><title>Report {feed}-{item}</title>"
        f'<meta property="article:published_time" content="2026-11-02T0{item % 10}:00:00Z">'
        f"<script>{script}</script></head><body><article><h1>Report {feed}-{item}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


def _feed(port: int, feed: int, articles: int, fresh_every: int) -> bytes:
    """Feed ``feed``'s items: dated on the run's day for every ``fresh_every``-th feed,
    a month earlier (before the look-back: parsed, never recorded) for the others."""
    day = "02 Nov" if feed % fresh_every == 0 else "02 Oct"
    items = "".join(
        f"<item><title>Report {feed}-{i}</title>"
        f"<link>http://127.0.0.1:{port}/a/{feed}/{i}.html</link><guid>{feed}-{i}</guid>"
        f"<description>Summary of report {feed}-{i}</description>"
        f"<pubDate>Mon, {day} 2026 0{i % 10}:00:00 +0000</pubDate></item>"
        for i in range(articles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>http://127.0.0.1:{port}/</link>{items}</channel></rss>"
    ).encode()


def _serve(
    port_out: Any, articles: int, fresh_every: int, latency: float, pad: int, stop: Any
) -> None:
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
                body = _feed(port, int(parts[1].removesuffix(".xml")), articles, fresh_every)
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
                with lock:
                    counts["pages"] += 1
                page = _page(int(parts[1]), int(parts[2].removesuffix(".html")), pad)
                self._send(200, page, "text/html; charset=utf-8")
            elif parts[0] == "counts":
                with lock:
                    text = json.dumps(counts)
                self._send(200, text.encode(), "application/json")
            else:
                self._send(404, b"", "text/plain")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    httpd = Server(("127.0.0.1", 0), Handler)
    port_out.put(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stop.wait()
    httpd.shutdown()


@contextmanager
def serve_site(articles: int, fresh_every: int, latency: float, pad: int = 0) -> Iterator[str]:
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(
        target=_serve, args=(port_queue, articles, fresh_every, latency, pad, stop)
    )
    server.start()
    try:
        yield f"http://127.0.0.1:{port_queue.get(timeout=30)}"
    finally:
        stop.set()
        server.join(timeout=10)


def _counts(base: str) -> dict[str, int]:
    import httpx

    result: dict[str, int] = httpx.get(f"{base}/counts").json()
    return result


@contextmanager
def _database(kind: str, tmp: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/warm.db"
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """One cold run and one warm rerun on a new database of ``kind``: the warm rerun's
    figures."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from monitor import pipeline
    from monitor.config import load_config

    commits = [0]

    def count(_connection: Any) -> None:
        commits[0] += 1

    event.listen(Engine, "commit", count)
    spent: dict[str, float] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for name in (*STAGES, "send_and_report"):
        setattr(pipeline, name, timed(name, getattr(pipeline, name)))

    with (
        serve_site(args.articles, args.fresh_every, args.latency) as base,
        tempfile.TemporaryDirectory() as tmp,
        _database(kind, tmp) as url,
    ):
        config = Path(tmp) / "bench.yaml"
        feeds = "".join(
            f"  - name: Feed {i}\n    url: {base}/feed/{i}.xml\n" for i in range(args.feeds)
        )
        config.write_text(
            f"data_dir: {tmp}\nhttp:\n  allow_private_addresses: true\n"
            f"  max_concurrency: {args.concurrency}\n"
            f"  per_host_concurrency: {args.concurrency}\n  per_host_delay_seconds: 0\n"
            f"  extract_processes: 0\nfeeds:\n{feeds}",
            encoding="utf-8",
        )
        cfg = load_config(config, env={"MONITOR_DATABASE_URL": url})
        pipeline.init(cfg)
        started = time.perf_counter()
        cold = pipeline.run_day(cfg, RUN_DATE)
        cold_s = time.perf_counter() - started
        fresh = len(range(0, args.feeds, args.fresh_every))
        assert cold.pages_ok == fresh * args.articles, cold
        spent.clear()
        commits[0] = 0
        before = _counts(base)
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        cpu = time.process_time()
        if profile is not None:
            profile.enable()
        warm = pipeline.run_day(cfg, RUN_DATE)
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        warm_s = time.perf_counter() - started
        warm_cpu = time.process_time() - cpu
        after = _counts(base)
    assert warm.new_entries == 0 and warm.feeds_unchanged == args.feeds, warm
    return {
        "cold_s": cold_s,
        "warm_s": warm_s,
        "warm_cpu_s": warm_cpu,
        "commits": commits[0],
        "stages": {"collect": spent.get("collect_feeds", 0) + spent.get("collect_done", 0)}
        | {
            "fetch": spent.get("fetch_articles", 0),
            "store": spent.get("store_articles", 0),
            "detect": spent.get("detect_changes", 0),
            "send": spent.get("send_and_report", 0),
        },
        "requests": {k: after[k] - before[k] for k in after},
    }


def _row(label: str, figures: dict[str, Any]) -> str:
    stages = "".join(f"{v:8.2f}" for v in figures["stages"].values())
    requests = figures["requests"]
    return (
        f"{label:26}{figures['cold_s']:8.1f}{figures['warm_s']:8.2f}{figures['warm_cpu_s']:8.2f}"
        f"{stages}{figures['commits']:9}  {requests['feeds']}/{requests['feeds_304']}/"
        f"{requests['pages']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds (1000)")
    parser.add_argument("--articles", type=int, default=2, help="items per feed (2)")
    parser.add_argument(
        "--fresh-every",
        type=int,
        default=4,
        help="every Nth feed has items of the run's day (4); the others' are old",
    )
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request (0.02)")
    parser.add_argument("--concurrency", type=int, default=32, help="http.max_concurrency (32)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src, side by side")
    parser.add_argument("--profile", help="cProfile the warm rerun into this file (this tree)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one child run
    parser.add_argument("--kind", default="sqlite", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args, args.kind)))
        return
    kinds = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    trees = [("this tree", Path(__file__).resolve().parents[1] / "src")]
    if args.baseline_src:
        trees.append(("baseline", args.baseline_src.resolve()))
    print(
        f"{args.feeds} feeds × {args.articles} items (every {args.fresh_every}th feed's of the "
        f"run's day), {args.latency * 1000:g} ms per request, "
        f"concurrency {args.concurrency}, politeness opened (no per-host delay); "
        f"warm = second run of the same day, every feed 304 (goal < 5 s)"
    )
    print(
        f"{'':26}{'cold s':>8}{'warm s':>8}{'CPU s':>8}"
        + "".join(f"{s:>8}" for s in ("collect", "fetch", "store", "detect", "send"))
        + f"{'commits':>9}  feeds/304/pages"
    )
    failed = 0
    for kind in kinds:
        for name, src in trees:
            child = [sys.executable, __file__, "--json", "--kind", kind]
            child += ["--feeds", str(args.feeds), "--articles", str(args.articles)]
            child += ["--latency", str(args.latency), "--concurrency", str(args.concurrency)]
            child += ["--fresh-every", str(args.fresh_every)]
            if args.profile and name == "this tree":
                child += ["--profile", f"{args.profile}.{kind}"]
            done = subprocess.run(
                child, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True
            )
            if done.returncode != 0:
                print(f"{kind + ' ' + name:26}failed: {done.stderr.strip()[-300:]}")
                failed += 1
                continue
            print(_row(f"{kind} {name}", json.loads(done.stdout.strip().splitlines()[-1])))
    if failed:
        raise SystemExit(f"{failed} run(s) failed")


if __name__ == "__main__":
    main()
