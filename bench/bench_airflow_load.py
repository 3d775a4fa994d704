"""Load through Airflow: N feeds × M items on a bench site spread over many hosts, run
once through the ``chip_trade_monitor`` DAG on CeleryExecutor (api-server, scheduler,
dag-processor and ``--workers`` Celery workers as separate processes, Redis broker,
PostgreSQL metadata, ``--shards`` shards) and once through ``monitor run`` (the same
shards one after another in one process), each on an empty PostgreSQL database.

The site is a separate process listening on 127.0.0.2 … 127.0.0.(hosts + 1), one port
(Linux routes all of 127.0.0.0/8 to loopback); feed *i* and its items live on host
``i mod hosts``, so pages spread over every host shard. Pages are small synthetic news
pages (≈ 250 words of seeded random text, some on the topic), each unique, so no page
is a copy of another; every answer waits ``--latency`` seconds. The site counts, per
host, the most requests it ever had in flight at once: it must not exceed
``http.per_host_concurrency``.

Printed: wall time, pages/s, kept articles, peak RSS per process (each Airflow
process and each worker: its own peak and the peak of its whole process tree, task
processes included; the ``monitor run`` process), the monitor database's size, and the
per-host maximum concurrency seen by the site beside the configured limit.

    PYTHONPATH=src python bench/bench_airflow_load.py          # 1,000 × 20, 2 workers, 8 shards
    PYTHONPATH=src python bench/bench_airflow_load.py --feeds 20 --items 5 --hosts 8   # a quick run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from airflow_stack import (  # noqa: E402
    BIN,
    DAG_ID,
    Stack,
    celery_env,
    celery_missing,
    descendants,
    free_port,
    query,
)

DAY = datetime(2026, 11, 2, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORDS = (
    "the a of to and in on for with by from after before while said says officials "
    "government ministry company market shares investors analysts report week month year "
    "plans talks meeting statement growth demand supply production plant factory workers "
    "city province council budget weather storm rain traffic school hospital museum "
    "festival football league season coach music film book art travel tourism airport "
    "rail port ship energy power grid solar wind oil gas price inflation bank rates "
    "export exports import trade deal agreement partners orders quarter revenue profit"
).split()
TOPIC = "Taiwan TSMC semiconductor chips tariff Washington US Commerce export controls".split()
ADDRESSES = "127.0.0.{}"


def _address(host: int) -> str:
    return ADDRESSES.format(2 + host)


def _page_text(feed: int, item: int) -> tuple[str, list[str]]:
    """A headline and five paragraphs, the same for the same item in every run."""
    rng = random.Random(feed * 100_003 + item)
    vocabulary = WORDS + (TOPIC if rng.random() < 0.3 else [])
    paragraphs = []
    for _ in range(5):
        sentences = []
        for _ in range(rng.randint(3, 4)):
            words = rng.choices(vocabulary, k=rng.randint(12, 18))
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    title = " ".join(rng.choices(vocabulary, k=7)).capitalize()
    return f"{title} ({feed}-{item})", paragraphs


def _page(base: str, feed: int, item: int) -> bytes:
    title, paragraphs = _page_text(feed, item)
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="canonical" href="{base}/a/{feed}/{item}.html">'
        f'<meta property="og:site_name" content="Outlet {feed}">'
        f'<meta property="article:published_time" content="2026-11-02T{item % 24:02d}:00:00Z">'
        f"</head><body><header>Outlet {feed}</header><main><article><h1>{title}</h1>"
        f"{body}</article></main><footer>Terms · Privacy</footer></body></html>"
    ).encode()


def _feed(base: str, feed: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>{_page_text(feed, i)[0]}</title><link>{base}/a/{feed}/{i}.html</link>"
        f"<guid>{feed}-{i}</guid><description>Story {feed}-{i}</description>"
        f"<pubDate>Mon, 02 Nov 2026 {i % 24:02d}:{i // 24 % 60:02d}:00 +0000</pubDate></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>{base}/</link>{entries}</channel></rss>"
    ).encode()


def _serve(port: int, hosts: int, items: int, latency: float, ready: Any, stop: Any) -> None:
    """The bench site: one listening socket per host address, one request log."""
    lock = threading.Lock()
    inflight: dict[str, int] = {}
    stats: dict[str, Any] = {"pages": 0, "feeds": 0, "other": 0, "max": {}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            host = str(self.server.server_address[0])
            base = f"http://{host}:{port}"
            parts = urlsplit(self.path).path.strip("/").split("/")
            if parts[0] == "stats":  # the bench's own questions: not counted
                with lock:
                    body = json.dumps(stats).encode()
                    if "reset" in self.path:
                        stats.update(pages=0, feeds=0, other=0, max={})
                self._send(200, body, "application/json")
                return
            with lock:
                inflight[host] = inflight.get(host, 0) + 1
                stats["max"][host] = max(stats["max"].get(host, 0), inflight[host])
            try:
                time.sleep(latency)
                if parts[0] == "feed":
                    with lock:
                        stats["feeds"] += 1
                    body = _feed(base, int(parts[1].removesuffix(".xml")), items)
                    self._send(200, body, "application/rss+xml")
                elif parts[0] == "a" and len(parts) == 3:
                    with lock:
                        stats["pages"] += 1
                    feed, item = int(parts[1]), int(parts[2].removesuffix(".html"))
                    self._send(200, _page(base, feed, item), "text/html; charset=utf-8")
                else:
                    with lock:
                        stats["other"] += 1
                    self._send(404, b"not found", "text/plain")
            finally:
                with lock:
                    inflight[host] -= 1

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    servers = [Server((_address(h), port), Handler) for h in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()


@contextmanager
def _site(hosts: int, items: int, latency: float) -> Iterator[int]:
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    port = free_port(_address(0))
    process = ctx.Process(target=_serve, args=(port, hosts, items, latency, ready, stop))
    process.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the bench site did not start")
        yield port
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def _stats(port: int, reset: bool = False) -> dict[str, Any]:
    url = f"http://{_address(0)}:{port}/stats" + ("?reset" if reset else "")
    return dict(httpx.get(url, timeout=30).json())


@contextmanager
def _database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
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


def _kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Every half second, for each named process: its own peak RSS (VmHWM) and the
    peak of the sum of RSS over its whole process tree."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.own: dict[str, int] = {}
        self.tree: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        self._thread.join(timeout=10)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def sample(self) -> None:
        for name, pid in list(self.pids.items()):
            tree = [pid, *descendants(pid)]
            self.own[name] = max(self.own.get(name, 0), _kib(pid, "VmHWM"))
            total = sum(_kib(p, "VmRSS") for p in tree)
            self.tree[name] = max(self.tree.get(name, 0), total)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()


def _config(directory: Path, port: int, args: argparse.Namespace) -> Path:
    feeds = "".join(
        f"  - name: Feed {i}\n    url: http://{_address(i % args.hosts)}:{port}/feed/{i}.xml\n"
        for i in range(args.feeds)
    )
    path = directory / "bench.yaml"
    path.write_text(
        f"data_dir: {directory / 'var'}\n"
        "http:\n"
        "  allow_private_addresses: true\n"
        f"  max_concurrency: {args.concurrency}\n"
        f"  per_host_concurrency: {args.per_host}\n"
        f"  per_host_delay_seconds: {args.per_host_delay}\n"
        f"  max_entries_per_feed: {max(args.items, 1)}\n"
        "  archive_pages: true\n"
        f"airflow:\n  shards: {args.shards}\n"
        f"feeds:\n{feeds}",
        encoding="utf-8",
    )
    return path


def _db_figures(db_url: str) -> dict[str, Any]:
    rows = query(
        db_url,
        "SELECT pg_database_size(current_database()), "
        "(SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM v_articles), "
        "(SELECT COUNT(*) FROM entries WHERE state = 'pending')",
    )
    size, articles, kept, pending = rows[0]
    return {"db_mb": size / 2**20, "articles": articles, "kept": kept, "pending": pending}


def _airflow_pass(work: Path, config: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    home = work / "airflow"
    home.mkdir()
    with _database() as meta_url, _database() as db_url:
        env = celery_env(
            home,
            meta_url,
            config=config,
            parallelism=max(4, 2 * args.workers),
            worker_concurrency=2,
        )
        env["MONITOR_DATABASE_URL"] = db_url
        airflow = Stack(home, env)
        try:
            with RssSampler() as rss:
                airflow.start_services(pool_slots=2 * args.workers)
                workers = [f"w{k + 1}" for k in range(args.workers)]
                for name in workers:
                    airflow.worker(name)
                for name, proc in airflow.procs.items():
                    rss.watch(name, proc.pid)
                airflow.wait_for_dag(meta_url)
                airflow.run("dags", "unpause", DAG_ID)
                _stats(port, reset=True)
                started = time.perf_counter()
                airflow.trigger("load-1", DAY)
                tis = airflow.finish(meta_url, "load-1", timeout=args.timeout)
                wall = time.perf_counter() - started
                site = _stats(port)
            spans = query(
                meta_url,
                "SELECT task_id, MIN(start_date), MAX(end_date), COUNT(*), "
                "COUNT(DISTINCT hostname) FROM task_instance WHERE run_id = 'load-1' "
                "GROUP BY task_id",
            )
            figures = _db_figures(db_url)
        finally:
            airflow.stop_all()
    processes = [("api-server", "api-server"), ("scheduler", "scheduler")]
    processes += [("dag-processor", "dag-processor")]
    processes += [(f"worker {name}", name) for name in workers]
    return {
        "wall": wall,
        "site": site,
        "rss": [(label, rss.own.get(name, 0), rss.tree.get(name, 0)) for label, name in processes],
        "spans": spans,
        "tries": max(int(t[3]) for t in tis),
        **figures,
    }


def _run_pass(work: Path, config: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    with _database() as db_url:
        env = {**os.environ, "MONITOR_DATABASE_URL": db_url, "MONITOR_CONFIG": str(config)}
        env["PYTHONPATH"] = str(ROOT / "src")
        _stats(port, reset=True)
        log = (work / "monitor-run.log").open("wb")
        with RssSampler() as rss:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [str(BIN / "monitor"), "run", "--date", DAY.date().isoformat()],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            rss.watch("monitor run", proc.pid)
            code = proc.wait(timeout=args.timeout)
            wall = time.perf_counter() - started
        log.close()
        if code != 0:
            raise SystemExit(
                f"monitor run failed ({code}):\n{(work / 'monitor-run.log').read_text()}"
            )
        site = _stats(port)
        figures = _db_figures(db_url)
    return {
        "wall": wall,
        "site": site,
        "rss": [("monitor run", rss.own.get("monitor run", 0), rss.tree.get("monitor run", 0))],
        **figures,
    }


def _report(name: str, result: dict[str, Any], limit: int) -> None:
    site = result["site"]
    peak = max(site["max"].values(), default=0)
    print(
        f"{name:16}{result['wall']:10.1f}{site['pages'] / result['wall']:10.1f}"
        f"{site['pages']:8}{site['feeds']:7}{result['kept']:7}{result['pending']:8}"
        f"{result['db_mb']:9.1f}{peak:>6} / {limit}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds (1000)")
    parser.add_argument("--items", type=int, default=20, help="items per feed (20)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (2)")
    parser.add_argument("--shards", type=int, default=8, help="airflow.shards (8)")
    parser.add_argument("--hosts", type=int, default=50, help="site hosts 127.0.0.2… (50)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=8, help="http.max_concurrency")
    parser.add_argument("--per-host", type=int, default=2, help="http.per_host_concurrency")
    parser.add_argument("--per-host-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per pass, seconds")
    parser.add_argument("--skip-airflow", action="store_true", help="monitor run only")
    args = parser.parse_args()
    if not args.skip_airflow and (why := celery_missing()) is not None:
        raise SystemExit(why)

    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
        _site(args.hosts, args.items, args.latency) as port,
    ):
        work = Path(tmp)
        config = _config(work, port, args)
        results = []
        if not args.skip_airflow:
            results.append(("Airflow+Celery", _airflow_pass(work, config, port, args)))
        results.append(("monitor run", _run_pass(work, config, port, args)))

    print(
        f"bench site: {args.feeds} feeds × {args.items} items = {args.feeds * args.items} "
        f"pages on {args.hosts} hosts (127.0.0.2…), {args.latency * 1000:g} ms per answer; "
        f"{args.shards} shards, {args.workers} Celery workers × 2, pool monitor_http "
        f"{2 * args.workers}; max_concurrency {args.concurrency}, per host {args.per_host}; "
        f"PostgreSQL; {os.cpu_count()} CPUs"
    )
    print(
        f"{'':16}{'wall s':>10}{'pages/s':>10}{'pages':>8}{'feeds':>7}{'kept':>7}"
        f"{'pending':>8}{'db MB':>9}  per-host max / limit"
    )
    for name, result in results:
        _report(name, result, args.per_host)
    print("peak RSS, MB (own / whole process tree):")
    for _name, result in results:
        for label, own, tree in result["rss"]:
            print(f"  {label:18}{own / 1024:8.0f} / {tree / 1024:.0f}")
    for name, result in results:
        if "spans" in result:
            print(f"{name} task spans (first start → last end, tasks, workers used):")
            for task_id, start, end, count, hosts in sorted(result["spans"], key=lambda r: r[1]):
                seconds = (end - start).total_seconds() if start and end else float("nan")
                print(f"  {task_id:16}{seconds:8.1f} s{count:5} tasks{hosts:3} workers")


if __name__ == "__main__":
    main()
