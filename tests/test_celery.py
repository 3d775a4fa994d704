"""The DAG on a distributed executor: Airflow with CeleryExecutor against the machine's
Redis (broker) and PostgreSQL (metadata, result backend and the monitor's data), with
api-server, scheduler, dag-processor and two Celery workers as separate processes.

1. A run of 2 November with 4 shards runs tasks on both workers and ends with the rows
   and the email of a ``dag.test()`` run of the same day.
2. A second run, on a fresh monitor database, stops its page-fetch shard halfway on the
   first worker (``MONITOR_TEST_PAUSE_AT=fetch:mid``); the test kills that worker with
   ``kill -9``, the scheduler notices the task's missing heartbeat, and the shard is
   retried on the second worker: same rows, the same one email, no second one.

Every process is started and stopped here, by PID. Marked ``celery`` (run by .ci/run).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow_stack import DAG_ID, Stack, celery_env, celery_missing, query, stopped
from conftest import ROOT, _postgres_database, write_config
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.celery, pytest.mark.integration, pytest.mark.postgres]

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _need_celery() -> None:
    why = celery_missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def _monitor_rows(db_url: str) -> dict[str, list[tuple[str, ...]]]:
    """What a user sees of a run: kept articles, stories, alerts, entry states (as text:
    SQLite and PostgreSQL return dates as different types)."""
    rows = {
        "articles": query(db_url, "SELECT url, title FROM v_articles ORDER BY url"),
        "stories": query(db_url, "SELECT COUNT(*) FROM stories"),
        "alerts": query(
            db_url, "SELECT run_date, rule, keyword, status FROM v_alerts ORDER BY rule, keyword"
        ),
        "entries": query(
            db_url, "SELECT state, COUNT(*) FROM entries GROUP BY state ORDER BY state"
        ),
    }
    return {name: [tuple(str(v) for v in row) for row in found] for name, found in rows.items()}


def _mail(smtp: Any) -> list[tuple[str, list[str]]]:
    return [(m.message["Subject"], sorted(m.rcpt_tos)) for m in smtp.messages]


@pytest.fixture
def reference(site, smtp, tmp_path, monkeypatch) -> tuple[dict[str, Any], list[Any]]:
    """Rows and email of a ``dag.test()`` run of the day (SQLite, in this process)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    Pool.create_or_update_pool("monitor_http", 2, "page fetches", include_deferred=False)
    db_url = f"sqlite:///{tmp_path / 'reference.db'}"
    (tmp_path / "ref").mkdir()
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path / "ref", site)))
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    monkeypatch.setenv("MONITOR_SMTP_URL", smtp.url)
    run = DagBag(dag_folder=str(ROOT / "dags")).dags[DAG_ID].test(logical_date=DAY)
    assert run.state == "success"
    rows = _monitor_rows(db_url)
    mail = _mail(smtp)
    smtp.messages.clear()
    return rows, mail


@pytest.fixture
def stack(tmp_path, site, smtp) -> Iterator[tuple[Stack, str, Path]]:
    _need_celery()
    home = tmp_path / "airflow"
    home.mkdir()
    (tmp_path / "cel").mkdir()
    config = write_config(tmp_path / "cel", site)
    metadata = _postgres_database()
    meta_url = next(metadata)
    airflow = Stack(home, celery_env(home, meta_url, config=config, smtp_url=smtp.url))
    try:
        airflow.start_services(pool_slots=2)
        yield airflow, meta_url, home
    finally:
        airflow.stop_all()
        try:
            next(metadata)
        except StopIteration:
            pass


def test_celery_run_spreads_over_workers_and_survives_a_killed_worker(
    reference, stack, smtp, tmp_path
):
    expected_rows, expected_mail = reference
    assert len(expected_mail) == 1
    airflow, meta_url, _home = stack
    first = _postgres_database()
    first_url = next(first)
    airflow.env["MONITOR_DATABASE_URL"] = first_url  # what the workers' tasks write to
    airflow.worker("w1")
    airflow.worker("w2")
    airflow.wait_for_dag(meta_url)
    airflow.run("dags", "unpause", DAG_ID)

    # 1. Four shards of each kind, spread over both workers: the dag.test() result.
    try:
        airflow.trigger("celery-1", DAY)
        airflow.finish(meta_url, "celery-1")
        hosts = query(
            meta_url,
            "SELECT task_id, map_index, hostname FROM task_instance WHERE run_id = 'celery-1'",
        )
        assert len([h for h in hosts if h[0] == "fetch_articles"]) == 4
        assert {h[2] for h in hosts} == {"w1", "w2"}, hosts
        assert _monitor_rows(first_url) == expected_rows
        assert _mail(smtp) == expected_mail
    finally:
        next(first, None)
    smtp.messages.clear()

    # 2. The shard holding every page stops halfway on w1; w1 is killed; w2 retries it.
    # One DAG run per logical date: the first run's record goes, so the day runs again.
    engine = create_engine(meta_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM dag_run WHERE run_id = 'celery-1'"))
    finally:
        engine.dispose()
    airflow.stop("w1")
    airflow.stop("w2")
    second = _postgres_database()
    second_url = next(second)
    airflow.env["MONITOR_DATABASE_URL"] = second_url
    airflow.worker("w1", MONITOR_TEST_PAUSE_AT="fetch:mid")
    try:
        airflow.trigger("celery-2", DAY)
        w1 = airflow.procs["w1"].pid
        airflow.wait_for("the fetch shard to stop halfway on w1", lambda: stopped(w1))
        airflow.worker("w2")
        airflow.stop("w1", signal.SIGKILL)  # the worker and its task processes, kill -9
        airflow.finish(meta_url, "celery-2")
        tries = query(
            meta_url,
            "SELECT map_index, try_number, hostname FROM task_instance "
            "WHERE run_id = 'celery-2' AND task_id = 'fetch_articles' AND try_number > 1",
        )
        assert tries and all(h == "w2" for _i, _t, h in tries), tries
        assert _monitor_rows(second_url) == expected_rows
        assert _mail(smtp) == expected_mail  # one email, not two
    finally:
        next(second, None)
