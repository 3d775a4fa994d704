"""Reliability benchmark: ``monitor run`` killed, cut off from PostgreSQL, or run twice at
once, N times per scenario, then compared with a run never interrupted.

Each trial starts from an empty database, interrupts a real ``monitor run`` process
against a generated local news site (about sixty stories over four feeds, with
syndicated copies and reposts; tests/reliability_kit.py), runs it again, and compares
articles, entries, stories, keyword counts, figures, alerts and the outbox emails with
the reference run (database ids replaced by URLs). Printed: scenario → trials → articles
or alerts lost → duplicate rows → duplicate emails → trials whose end state differed.

    PYTHONPATH=src python bench/reliability.py                 # 3 trials per scenario
    PYTHONPATH=src python bench/reliability.py --trials 10 --only kill
    PYTHONPATH=src python bench/reliability.py --no-postgres   # SQLite scenarios only

The PostgreSQL scenarios use MONITOR_TEST_POSTGRES_URL (default the local server on
5432) for their databases, and a cluster of their own (initdb/pg_ctl on a free port in a
temp dir) for the outages; the shared server is never stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixture_site import FixtureSite  # noqa: E402
from reliability_kit import (  # noqa: E402
    DAY1,
    DAY2,
    PAUSE_POINTS,
    PgCluster,
    Snapshot,
    Verdict,
    build_site,
    compare,
    create_database,
    drop_database,
    finish,
    kill_after,
    monitor_env,
    run_and_kill_at,
    run_once,
    snapshot,
    start_run,
    write_config,
)
from smtp_server import free_port  # noqa: E402

PG_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Row:
    scenario: str
    trials: int = 0
    lost: int = 0
    duplicate_rows: int = 0
    duplicate_emails: int = 0
    differing: int = 0
    failed_runs: int = 0
    note: str = ""

    def add(self, verdict: Verdict, failed_runs: int = 0) -> None:
        self.trials += 1
        self.lost += verdict.lost
        self.duplicate_rows += verdict.duplicate_rows
        self.duplicate_emails += verdict.duplicate_emails
        self.differing += not verdict.equal
        self.failed_runs += failed_runs
        if verdict.differences and not self.note:
            self.note = verdict.differences[0][:90]


class Bench:
    def __init__(self, work: Path, site: FixtureSite, postgres: bool) -> None:
        self.work = work
        self.site = site
        self.postgres = postgres
        self.n = 0
        self.references: dict[tuple[str, tuple[str, ...]], Snapshot] = {}

    def workspace(self, kind: str, db_url: str | None = None) -> tuple[dict[str, str], str, Path]:
        self.n += 1
        base = self.work / f"t{self.n:04d}"
        base.mkdir(parents=True)
        if db_url is None:
            if kind == "sqlite":
                db_url = f"sqlite:///{base / 'monitor.db'}"
            else:
                db_url = create_database(PG_ADMIN, f"monitor_bench_{os.getpid()}_{self.n}")
        env = monitor_env(write_config(base, self.site.base_url), db_url)
        return env, db_url, base

    def done(self, db_url: str) -> None:
        if db_url.startswith("postgresql") and "monitor_bench_" in db_url:
            drop_database(PG_ADMIN, db_url.rsplit("/", 1)[-1])

    def reference(self, kind: str, days: tuple[str, ...] = (DAY1.isoformat(),)) -> Snapshot:
        key = (kind, days)
        if key not in self.references:
            env, db, base = self.workspace(kind)
            for day in days:
                outcome = run_once(env, _date(day), base / "logs")
                if outcome.returncode != 0:
                    raise SystemExit(f"reference run failed:\n{outcome.stderr}")
            self.references[key] = snapshot(db, base / "var" / "outbox")
            self.done(db)
        return self.references[key]

    def trial(
        self,
        kind: str,
        interrupt: Callable[[dict[str, str], Path], int],
        db_url: str | None = None,
    ) -> tuple[Verdict, int]:
        """One trial on an empty database: interrupt (returns how many runs failed that
        should not have), run again, compare with the reference of ``kind``."""
        reference = self.reference(kind)
        env, db, base = self.workspace(kind, db_url)
        failed = interrupt(env, base)
        rerun = run_once(env, DAY1, base / "logs")
        failed += rerun.returncode != 0
        verdict = compare(reference, snapshot(db, base / "var" / "outbox"))
        self.done(db)
        return verdict, failed


def _date(day: str) -> date:
    return date.fromisoformat(day)


def run(args: argparse.Namespace) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="monitor-bench-reliability-"))
    rows: list[Row] = []
    rng = random.Random(args.seed)
    build_site(work / "site", days=(DAY1, DAY2))
    with FixtureSite(root=work / "site") as site:
        bench = Bench(work, site, args.postgres)
        kinds = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
        duration = {k: _timed(bench, k) for k in kinds}
        for kind in kinds:
            if args.only in (None, "kill"):
                points = (
                    PAUSE_POINTS
                    if kind == "sqlite"
                    else ("fetch:mid", "store:commit", "detect:mid")
                )
                if args.points:
                    points = args.points
                for point in points:
                    row = Row(f"kill -9 at {point} ({kind})")
                    for _ in range(args.trials):

                        def at_point(env: dict[str, str], base: Path, p: str = point) -> int:
                            run_and_kill_at(env, DAY1, p, base / "logs")
                            return 0

                        row.add(*bench.trial(kind, at_point))
                    rows.append(_show(row))
                row = Row(f"kill -9 at a random moment ({kind})")
                for _ in range(0 if args.quick else args.trials):
                    delay = rng.uniform(0.3, duration[kind])

                    def at_random(env: dict[str, str], base: Path, d: float = delay) -> int:
                        kill_after(env, DAY1, d, base / "logs")
                        return 0

                    row.add(*bench.trial(kind, at_random))
                if row.trials:
                    rows.append(_show(row))
        if args.postgres and args.only in (None, "outage"):
            rows += _outages(bench, args.trials, rng, duration["postgresql"])
        if args.postgres and args.only in (None, "concurrent"):
            rows += _concurrent(bench, args.trials)
    shutil.rmtree(work, ignore_errors=True)
    return rows


def _timed(bench: Bench, kind: str) -> float:
    started = time.monotonic()
    bench.reference(kind)
    return time.monotonic() - started


def _outages(bench: Bench, trials: int, rng: random.Random, duration: float) -> list[Row]:
    cluster = PgCluster(Path(tempfile.mkdtemp(prefix="monitor-bench-pg-")), free_port()).init()
    rows = [
        Row("PostgreSQL stopped at store:mid"),
        Row("PostgreSQL stopped at a random moment"),
    ]
    try:
        for row, pause in zip(rows, ("store:mid", None), strict=True):
            for _ in range(trials):
                name = f"trial_{bench.n + 1}"
                url = create_database(
                    f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres", name
                )

                def outage(env: dict[str, str], base: Path, p: str | None = pause) -> int:
                    process = start_run(env, DAY1, base / "logs", pause_at=p)
                    if p is not None:
                        os.waitpid(process.pid, os.WUNTRACED)
                    else:
                        time.sleep(rng.uniform(0.5, duration))
                    cluster.stop()
                    if p is not None:
                        os.kill(process.pid, signal.SIGCONT)
                    outcome = finish(process)
                    cluster.start()
                    # exit 2 (or 0 when the run finished first) is right; anything else not
                    return int(outcome.returncode not in (0, 2))

                row.add(*bench.trial("postgresql", outage, url))
            _show(row)
    finally:
        cluster.destroy()
    return rows


def _concurrent(bench: Bench, trials: int) -> list[Row]:
    one_day = Row("2 concurrent runs of one day (postgresql)")
    reference = bench.reference("postgresql")
    for _ in range(trials):
        env, db, base = bench.workspace("postgresql")
        outcomes = [finish(p) for p in [start_run(env, DAY1, base / "logs") for _ in range(2)]]
        one_day.add(
            compare(reference, snapshot(db, base / "var" / "outbox")),
            sum(o.returncode != 0 for o in outcomes),
        )
        bench.done(db)
    _show(one_day)
    two_days = Row("2 overlapping days at once (postgresql)")
    reference = bench.reference("postgresql", (DAY1.isoformat(), DAY2.isoformat()))
    for _ in range(trials):
        env, db, base = bench.workspace("postgresql")
        runs = [start_run(env, day, base / "logs") for day in (DAY1, DAY2)]
        outcomes = [finish(p) for p in runs]
        found = snapshot(db, base / "var" / "outbox")
        want = {a[0] for a in reference.tables["articles"]}
        got = [a[0] for a in found.tables["articles"]]
        keys = [a[0] for a in found.tables["alerts"]]
        verdict = Verdict(
            lost=len(want - set(got)),
            duplicate_rows=(len(got) - len(set(got)))
            + (len(keys) - len(set(keys)))
            + max(0, found.counts["entries"] - reference.counts["entries"]),
            duplicate_emails=len(found.emails) - len(set(found.emails)),
            differences=(),
        )
        two_days.add(verdict, sum(o.returncode != 0 for o in outcomes))
        bench.done(db)
    _show(two_days)
    return [one_day, two_days]


def _show(row: Row) -> Row:
    print(
        f"  {row.scenario}: {row.trials} trials, lost {row.lost}, duplicate rows "
        f"{row.duplicate_rows}, duplicate emails {row.duplicate_emails}, failed runs "
        f"{row.failed_runs}, differing {row.differing} {row.note}",
        file=sys.stderr,
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument(
        "--points",
        type=lambda v: tuple(v.split(",")),
        help=f"kill points, comma-separated (default all: {','.join(PAUSE_POINTS)})",
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--only", choices=["kill", "outage", "concurrent"])
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument(
        "--quick", action="store_true", help="one trial of one kill point (a smoke test)"
    )
    args = parser.parse_args()
    if args.quick:
        args.trials, args.only, args.points = 1, "kill", ("store:commit",)
    started = time.monotonic()
    rows = run(args)
    header = ("scenario", "trials", "lost", "dup rows", "dup emails", "failed runs", "differing")
    table = [header] + [
        (
            r.scenario,
            str(r.trials),
            str(r.lost),
            str(r.duplicate_rows),
            str(r.duplicate_emails),
            str(r.failed_runs),
            str(r.differing),
        )
        for r in rows
    ]
    widths = [max(len(t[i]) for t in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print(f"\n{sum(r.trials for r in rows)} trials in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
