"""Peak memory of a whole ``monitor run`` against its size (issue 10: flat in run size,
under 400 MB at 5,000 pages).

Each size runs in a fresh process (peak RSS is per process): ``monitor init`` then one
``pipeline.run_day`` over a simulated site (bench_warm's, a separate process) of
``pages`` synthetic news pages of about ``--pad`` bytes each, 50 items per feed, on a
new SQLite database in /dev/shm (memory is measured here, not the disk). Printed per
size: peak RSS of the run's process, and of its largest child (an extraction worker
with ``--extract-processes``), wall time, pages stored; with ``--baseline-src``,
another checkout's ``src`` side by side.

    PYTHONPATH=src python bench/bench_rss.py                      # 500, 2000, 5000 pages
    PYTHONPATH=src python bench/bench_rss.py --sizes 500 2000 --baseline-src ../main/src
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench_warm import serve_site

RUN_DATE = date(2026, 11, 2)
PER_FEED = 50


def measure(pages: int, pad: int, processes: int, concurrency: int) -> dict[str, float]:
    from monitor import pipeline
    from monitor.config import load_config

    feeds = max(1, pages // PER_FEED)
    shm = Path("/dev/shm")
    with (
        serve_site(PER_FEED, 1, 0.0, pad) as base,
        tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp,
    ):
        config = Path(tmp) / "bench.yaml"
        listed = "".join(
            f"  - name: Feed {i}\n    url: {base}/feed/{i}.xml\n" for i in range(feeds)
        )
        config.write_text(
            f"data_dir: {tmp}\nhttp:\n  allow_private_addresses: true\n"
            f"  max_concurrency: {concurrency}\n  per_host_concurrency: {concurrency}\n"
            f"  per_host_delay_seconds: 0\n  extract_processes: {processes}\n"
            f"  max_entries_per_feed: {PER_FEED}\nfeeds:\n{listed}",
            encoding="utf-8",
        )
        cfg = load_config(config, env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp}/rss.db"})
        pipeline.init(cfg)
        started = time.perf_counter()
        summary = pipeline.run_day(cfg, RUN_DATE)
        wall = time.perf_counter() - started
        # Before the site's process ends: the children so far are extraction workers.
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "pages": summary.pages_ok,
        "wall_s": wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_mb": child_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--pad", type=int, default=40_000, help="bytes of chrome per page")
    parser.add_argument("--extract-processes", type=int, default=0, help="(0: threads)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src, side by side")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        figures = measure(args.child, args.pad, args.extract_processes, args.concurrency)
        print(json.dumps(figures))
        return
    trees = [("this tree", Path(__file__).resolve().parents[1] / "src")]
    if args.baseline_src:
        trees.append(("baseline", args.baseline_src.resolve()))
    print(
        f"whole run per size, synthetic pages of ~{args.pad // 1000} KB, {PER_FEED} per feed, "
        f"extraction processes {args.extract_processes}; goal: flat, < 400 MB at 5,000 pages"
    )
    print(f"{'tree':12}{'pages':>8}{'stored':>8}{'wall s':>9}{'peak RSS MB':>13}{'child MB':>10}")
    failed = 0
    for name, src in trees:
        for size in args.sizes:
            child = [sys.executable, __file__, "--child", str(size), "--pad", str(args.pad)]
            child += ["--extract-processes", str(args.extract_processes)]
            child += ["--concurrency", str(args.concurrency)]
            env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{Path(__file__).parent}"}
            done = subprocess.run(child, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name:12}{size:8}  failed: {done.stderr.strip()[-300:]}")
                failed += 1
                continue
            f = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{name:12}{size:8}{f['pages']:8.0f}{f['wall_s']:9.1f}{f['rss_mb']:13.0f}"
                f"{f['child_mb']:10.0f}"
            )
    if failed:
        raise SystemExit(f"{failed} run(s) failed")


if __name__ == "__main__":
    main()
