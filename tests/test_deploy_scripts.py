"""The helpers `make` runs: task progress from `airflow dags test`, and the demo's
refusal to reuse a database that already holds monitor data."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from conftest import DAY1, ROOT, write_config

from monitor import pipeline
from monitor.config import load_config

PROGRESS = ROOT / "deploy" / "dag_progress.py"
DEMO_DATABASE = ROOT / "deploy" / "demo_database.py"

RUN = """\
2026-12-02T07:39:55.331006Z [info] [DAG TEST] starting task_id=prepare map_index=-1
2026-12-02T07:40:01.218519Z [info] Task instance state updated new_state=success rows_affected=1
2026-12-02T07:40:01.236543Z [info] [DAG TEST] end task task_id=prepare map_index=-1
2026-12-02T07:40:01.250628Z [info] [DAG TEST] starting task_id=collect_feeds map_index=-1
2026-12-02T07:40:05.426809Z [info] Task instance state updated new_state={state} rows_affected=1
2026-12-02T07:40:05.440698Z [info] [DAG TEST] end task task_id=collect_feeds map_index=-1
2026-12-02T07:40:11.700027Z [info] Marking run <DagRun chip_trade_monitor> {outcome}
"""


def _progress(text: str, tmp_path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROGRESS), str(tmp_path / "run.log")],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_progress_prints_each_task_as_it_ends_and_keeps_the_whole_log(tmp_path):
    done = _progress(RUN.format(state="success", outcome="successful"), tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "  ✓ prepare success in 5.9 s",
        "  ✓ collect_feeds success in 4.2 s",
    ]
    assert (tmp_path / "run.log").read_text(encoding="utf-8") == RUN.format(
        state="success", outcome="successful"
    )


def test_progress_fails_and_shows_the_log_tail_when_a_task_fails(tmp_path):
    done = _progress(RUN.format(state="failed", outcome="failed"), tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "  ✗ collect_feeds failed in 4.2 s" in lines
    assert lines[-1] == f"Airflow run failed; full log: {tmp_path / 'run.log'}"


RUN_ID = "manual__2026-12-02T07:39:55.102345+00:00"


def _dag_test(at: str, what: str) -> str:
    return f"2026-12-02T07:{at} [info] [DAG TEST] {what}"


def _running(at: str, task: str, mapped: str = "") -> str:
    ti = f"<TaskInstance: chip_trade_monitor.{task} {RUN_ID} {mapped}[SCHEDULED]>"
    return _dag_test(at, f"running task {ti}")


# As `airflow dags test` prints them, shortened: a task, then a mapped one failing once.
MAPPED_RUN = "\n".join(
    [
        "2026-12-02T07:39:54.100000Z [info] Created dag run.",
        _dag_test("39:55.331006Z", "starting task_id=prepare map_index=-1"),
        _running("39:55.331100Z", "prepare"),
        "2026-12-02T07:39:56.000000Z [info] Migrations done",
        _dag_test("40:01.236543Z", "end task task_id=prepare map_index=-1"),
        _dag_test("40:01.250628Z", "starting task_id=collect_feeds map_index=1"),
        _running("40:01.250700Z", "collect_feeds", "map_index=1 "),
        "2026-12-02T07:40:02.000000Z [error] Feed down new_state=up_for_retry",
        _dag_test("40:02.100000Z", "end task task_id=collect_feeds map_index=1"),
        _dag_test("40:03.250628Z", "starting task_id=collect_feeds map_index=1"),
        _running("40:03.250700Z", "collect_feeds", "map_index=1 "),
        "2026-12-02T07:40:04.000000Z [info] Task instance state updated new_state=success",
        _dag_test("40:04.100000Z", "end task task_id=collect_feeds map_index=1"),
        "2026-12-02T07:40:11.700027Z [info] Marking run <DagRun chip_trade_monitor> successful",
        "",
    ]
)


def test_progress_writes_each_task_log_where_the_airflow_ui_reads_it(tmp_path):
    """`airflow dags test` writes no task log files, so the UI said "Log file not found"
    for `make run`'s runs: each attempt's lines go to base_log_folder, under Airflow's
    default log_filename_template."""
    logs = tmp_path / "logs"
    done = subprocess.run(
        [sys.executable, str(PROGRESS), str(tmp_path / "run.log"), str(logs)],
        input=MAPPED_RUN,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout  # the first attempt was up_for_retry
    lines = MAPPED_RUN.splitlines(keepends=True)
    run = logs / "dag_id=chip_trade_monitor" / f"run_id={RUN_ID}"
    written = {
        str(path.relative_to(run)): path.read_text(encoding="utf-8")
        for path in sorted(logs.rglob("*.log"))
    }
    assert written == {
        "task_id=prepare/attempt=1.log": "".join(lines[1:5]),
        "task_id=collect_feeds/map_index=1/attempt=1.log": "".join(lines[5:9]),
        "task_id=collect_feeds/map_index=1/attempt=2.log": "".join(lines[9:13]),
    }
    assert (tmp_path / "run.log").read_text(encoding="utf-8") == MAPPED_RUN


def _demo_database(url: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("MONITOR_DATABASE_URL", None)
    if url is not None:
        env["MONITOR_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, str(DEMO_DATABASE)], env=env, capture_output=True, text=True, timeout=60
    )


def test_demo_uses_its_own_sqlite_file_without_a_database_url():
    done = _demo_database(None)
    assert (done.returncode, done.stdout) == (
        0,
        "demo database: var/demo/monitor.db (SQLite, emptied)\n",
    )


@pytest.mark.integration
def test_demo_refuses_a_database_that_holds_monitor_data(tmp_path, site, db_url):
    empty = _demo_database(db_url)
    assert empty.returncode == 0 and empty.stdout.endswith("(empty)\n"), empty.stderr
    cfg = load_config(
        write_config(tmp_path, site, feeds=[("Dead", "/status/503")]),
        env={"MONITOR_DATABASE_URL": db_url},
    )
    pipeline.init(cfg)
    assert _demo_database(db_url).returncode == 0  # migrated and seeded, but no feeds yet
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    used = _demo_database(db_url)
    assert used.returncode == 1
    assert "already holds monitor data (1 feed)" in used.stderr
    assert "never wipes yours" in used.stderr and "unset it" in used.stderr
