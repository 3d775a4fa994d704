"""Resumable runs, proven on real processes: ``monitor run`` killed with SIGKILL at every
stage boundary and in the middle of every stage, then run again, ends with exactly the
articles, stories, entries, counts, alerts and emails of a run never interrupted; a
PostgreSQL server stopped mid-run makes the run exit 2 with a message, and a rerun after
the restart completes it; concurrent runs (one day twice, two overlapping days) on
PostgreSQL neither fail nor duplicate anything.

The site is generated (tests/reliability_kit.py): about sixty stories a day over four
feeds. ``bench/reliability.py`` runs the same scenarios many times and prints the table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _postgres_database
from fixture_site import FixtureSite
from reliability_kit import (
    DAY1,
    DAY2,
    PAUSE_POINTS,
    PgCluster,
    Snapshot,
    compare,
    monitor_env,
    run_and_kill_at,
    run_once,
    snapshot,
    start_run,
    write_config,
)
from reliability_kit import build_site as build_generated_site
from reliability_kit import finish as finish_run
from smtp_server import free_port

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def generated_site(tmp_path_factory) -> Iterator[FixtureSite]:
    root = tmp_path_factory.mktemp("generated")
    build_generated_site(root / "site", days=(DAY1, DAY2))
    with FixtureSite(root=root / "site") as site:
        yield site


def _workspace(base: Path, site: FixtureSite, db_url: str | None = None) -> tuple[dict, str, Path]:
    base.mkdir(parents=True, exist_ok=True)
    db = db_url or f"sqlite:///{base / 'monitor.db'}"
    config = write_config(base, site.base_url)
    return monitor_env(config, db), db, base / "var" / "outbox"


def _reference(base: Path, site: FixtureSite, db_url: str | None = None, days=(DAY1,)) -> Snapshot:
    env, db, outbox = _workspace(base, site, db_url)
    for day in days:
        done = run_once(env, day, base / "logs")
        assert done.returncode == 0, done.stderr
    return snapshot(db, outbox)


@pytest.fixture(scope="module")
def sqlite_reference(generated_site, tmp_path_factory) -> Snapshot:
    reference = _reference(tmp_path_factory.mktemp("reference"), generated_site)
    assert reference.counts["articles"] >= 55  # the site is big enough to mean something
    assert reference.emails
    return reference


@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_killed_at_any_point_the_rerun_ends_as_if_never_interrupted(
    point, generated_site, sqlite_reference, tmp_path
):
    env, db, outbox = _workspace(tmp_path, generated_site)
    killed = run_and_kill_at(env, DAY1, point, tmp_path / "logs")
    assert killed.paused, f"never reached {point}: {killed.stderr[-2000:]}"

    rerun = run_once(env, DAY1, tmp_path / "logs")
    assert rerun.returncode == 0, rerun.stderr
    verdict = compare(sqlite_reference, snapshot(db, outbox))
    assert verdict.differences == ()
    assert (verdict.lost, verdict.duplicate_rows, verdict.duplicate_emails) == (0, 0, 0)
    # Past counting nothing is owed; killed inside a collect batch, nothing of the batch
    # was committed, so the rerun collects it afresh (nothing to resume either).
    if point not in ("collect:batch", "detect:done", "send:done"):
        assert "resumed" in rerun.stdout and "left unfinished by an earlier run" in rerun.stdout
    if point == "collect:batch":
        assert "resumed" not in rerun.stdout


def test_last_run_shows_what_was_resumed(generated_site, tmp_path):
    env, _db, _outbox = _workspace(tmp_path, generated_site)
    assert run_and_kill_at(env, DAY1, "store:mid", tmp_path / "logs").paused
    assert run_once(env, DAY1, tmp_path / "logs").returncode == 0
    shown = subprocess.run(
        [sys.executable, "-c", "from monitor.cli import main; main()", "last-run"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in shown.stdout.splitlines() if x.strip().startswith("resumed"))
    entries = int(line.split()[1])
    assert entries > 0 and "left unfinished by an earlier run" in line


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def pg_reference_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.parametrize("point", ["fetch:mid", "store:commit", "detect:mid"])
def test_killed_on_postgresql_the_rerun_ends_as_if_never_interrupted(
    point, generated_site, tmp_path, pg_url, pg_reference_url
):
    reference = _reference(tmp_path / "reference", generated_site, pg_reference_url)
    env, db, outbox = _workspace(tmp_path / "run", generated_site, pg_url)
    assert run_and_kill_at(env, DAY1, point, tmp_path / "logs").paused
    rerun = run_once(env, DAY1, tmp_path / "logs")
    assert rerun.returncode == 0, rerun.stderr
    verdict = compare(reference, snapshot(db, outbox))
    assert verdict.differences == ()


@pytest.fixture
def own_cluster(tmp_path_factory) -> Iterator[PgCluster]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    directory = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    cluster = PgCluster(directory, free_port()).init()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_postgresql_outage_mid_run_exits_2_and_the_rerun_completes(
    generated_site, tmp_path, own_cluster, pg_reference_url
):
    reference = _reference(tmp_path / "reference", generated_site, pg_reference_url)
    env, db, outbox = _workspace(tmp_path / "run", generated_site, own_cluster.url)
    run = start_run(env, DAY1, tmp_path / "logs", pause_at="store:mid")
    _wait_stopped(run.pid)
    own_cluster.stop()  # the server goes away while the run is storing
    os.kill(run.pid, signal.SIGCONT)
    failed = finish_run(run)
    assert failed.returncode == 2
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, failed.stderr
    assert errors[0].startswith("error: database postgresql+psycopg://postgres@127.0.0.1:")
    assert "the run stopped before it finished" in failed.stderr
    assert "Traceback" not in failed.stderr

    own_cluster.start()
    rerun = run_once(env, DAY1, tmp_path / "logs")
    assert rerun.returncode == 0, rerun.stderr
    assert "resumed" in rerun.stdout
    verdict = compare(reference, snapshot(db, outbox))
    assert verdict.differences == ()


def _wait_stopped(pid: int) -> None:
    _, status = os.waitpid(pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), "the run ended before its pause point"


def test_two_concurrent_runs_of_one_day_on_postgresql(
    generated_site, tmp_path, pg_url, pg_reference_url
):
    reference = _reference(tmp_path / "reference", generated_site, pg_reference_url)
    env, db, outbox = _workspace(tmp_path / "run", generated_site, pg_url)
    runs = [start_run(env, DAY1, tmp_path / "logs") for _ in range(2)]
    outcomes = [finish_run(r) for r in runs]
    assert [o.returncode for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
    verdict = compare(reference, snapshot(db, outbox))
    assert verdict.differences == ()


def test_two_overlapping_days_at_once_on_postgresql(
    generated_site, tmp_path, pg_url, pg_reference_url
):
    """Day 2's window reaches back over day 1, so whichever run goes first takes the
    shared items; what must hold is that nothing fails, is lost or is there twice."""
    reference = _reference(tmp_path / "reference", generated_site, pg_reference_url, (DAY1, DAY2))
    env, db, outbox = _workspace(tmp_path / "run", generated_site, pg_url)
    runs = [start_run(env, day, tmp_path / "logs") for day in (DAY1, DAY2)]
    outcomes = [finish_run(r) for r in runs]
    assert [o.returncode for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
    found = snapshot(db, outbox)
    assert {a[0] for a in found.tables["articles"]} == {a[0] for a in reference.tables["articles"]}
    assert found.counts["articles"] == reference.counts["articles"]
    assert found.counts["entries"] == reference.counts["entries"]
    assert {e[1] for e in found.tables["entries"]} <= {"stored", "duplicate"}
    assert len(found.emails) == len(set(found.emails))
    keys = [a[0] for a in found.tables["alerts"]]
    assert len(keys) == len(set(keys))


def test_the_reliability_bench_prints_its_table():
    done = subprocess.run(
        [sys.executable, "bench/reliability.py", "--quick", "--no-postgres"],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = [c.strip() for c in lines[0].split(" | ")]
    assert header[:5] == ["scenario", "trials", "lost", "dup rows", "dup emails"]
    row = [c.strip() for c in lines[2].split(" | ")]
    assert row == ["kill -9 at store:commit (sqlite)", "1", "0", "0", "0", "0", "0"]
