"""Start-up time of the command line: `monitor --help` and `monitor articles` (on a
migrated, empty SQLite database, or the database of ``--database-url``), wall clock and
CPU, median of several runs, beside the bare interpreter and, with ``--baseline-src``,
another checkout's ``src`` (main, say). Goal: both under 0.5 s.

    PYTHONPATH=src python bench/bench_cli.py [--runs 7] [--baseline-src ../main/src]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONITOR = "from monitor.cli import main; main()"


def _timed(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float] | str:
    """Median wall and CPU seconds of ``python args`` over ``runs`` runs, or why it failed."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            return " ".join(done.stderr.split())[:120] or f"exit {done.returncode}"
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-src", type=Path, help="Another checkout's src to compare.")
    parser.add_argument(
        "--database-url", help="An existing database to list (default: a new SQLite file)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.database_url or f"sqlite:///{Path(tmp) / 'cli.db'}"
        trees = [("this tree", ROOT / "src")]
        if args.baseline_src:
            trees.append((f"baseline {args.baseline_src}", args.baseline_src.resolve()))
        env = {**os.environ, "MONITOR_DATABASE_URL": db, "PYTHONPATH": str(ROOT / "src")}
        subprocess.run(
            [sys.executable, "-c", MONITOR, "init"], env=env, check=True, capture_output=True
        )
        print(f"database: {db.split('@')[-1]}")
        print(f"{'command':28} {'tree':40} {'wall s':>7} {'CPU s':>7}")
        bare = _timed(["-c", "pass"], env, args.runs)
        assert not isinstance(bare, str), bare
        print(f"{'python -c pass':28} {'-':40} {bare[0]:7.3f} {bare[1]:7.3f}")
        for name, src in trees:
            tree_env = {**env, "PYTHONPATH": str(src)}
            for command in (["--help"], ["articles"]):
                timed = _timed(["-c", MONITOR, *command], tree_env, args.runs)
                label = "monitor " + " ".join(command)
                if isinstance(timed, str):
                    print(f"{label:28} {name[:40]:40} failed: {timed}")
                else:
                    print(f"{label:28} {name[:40]:40} {timed[0]:7.3f} {timed[1]:7.3f}")


if __name__ == "__main__":
    main()
