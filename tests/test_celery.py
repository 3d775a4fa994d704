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
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, _postgres_database, write_config
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.celery, pytest.mark.integration, pytest.mark.postgres]

BIN = Path(sys.executable).parent
DAG_ID = "chip_trade_monitor"
DAY = datetime(2026, 11, 2, tzinfo=UTC)
REDIS = ("127.0.0.1", 6379)
WAIT = 240.0  # seconds, for any one step on a loaded 2-core machine
HOSTNAME_MODULE = """import os


def name() -> str:
    return os.environ.get("MONITOR_TEST_WORKER", "main")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _need_celery() -> None:
    why = None
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError:
        why = "apache-airflow-providers-celery is not installed (pip install the project)"
    if why is None:
        try:
            with socket.create_connection(REDIS, timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                if not sock.recv(16).startswith(b"+PONG"):
                    why = "Redis at 127.0.0.1:6379 did not answer PING"
        except OSError as exc:
            why = f"Redis not reachable at 127.0.0.1:6379 ({exc})"
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Stack:
    """The Airflow processes of one test, each with its log file."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def run(self, *args: str, timeout: float = WAIT) -> str:
        done = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> None:
        with self.log(name).open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env={**self.env, **(extra or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        for pid in [*_descendants(proc.pid), proc.pid] if sig == signal.SIGKILL else [proc.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in [*_descendants(proc.pid), proc.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def tails(self) -> str:
        names = sorted({p.stem for p in self.home.glob("*.log")})
        return "\n".join(f"--- {n} ---\n{_tail(self.log(n))}" for n in names)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = WAIT) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if check():
                return
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"{name} exited ({proc.returncode})\n{self.tails()}"
            time.sleep(1)
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{self.tails()}")


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stopped(pid: int) -> bool:
    """A process below ``pid`` stopped itself (SIGSTOP at a pause point)."""
    for child in _descendants(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "T":
            return True
    return False


def _query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _monitor_rows(db_url: str) -> dict[str, list[tuple[str, ...]]]:
    """What a user sees of a run: kept articles, stories, alerts, entry states (as text:
    SQLite and PostgreSQL return dates as different types)."""
    rows = {
        "articles": _query(db_url, "SELECT url, title FROM v_articles ORDER BY url"),
        "stories": _query(db_url, "SELECT COUNT(*) FROM stories"),
        "alerts": _query(
            db_url, "SELECT run_date, rule, keyword, status FROM v_alerts ORDER BY rule, keyword"
        ),
        "entries": _query(
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
    (home / "celery_host.py").write_text(HOSTNAME_MODULE, encoding="utf-8")
    (tmp_path / "cel").mkdir()
    config = write_config(tmp_path / "cel", site)
    metadata = _postgres_database()
    meta_url = next(metadata)
    port = _free_port()
    queue = f"monitor-{uuid.uuid4().hex[:8]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env = {
        **base,
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(home)]),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_host.name",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        # psycopg 3 is async too; Airflow's default guess is asyncpg, not installed.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/7",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        # A queue of this test's own on the shared Redis: tasks go to the operators'
        # default queue, the workers listen on it alone.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CELERY__DEFAULT_QUEUE": queue,
        # Only triggered runs: no scheduled run of today appears beside the test's.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "MONITOR_CONFIG": str(config),
        "MONITOR_SMTP_URL": smtp.url,
        "MONITOR_RETRY_DELAY_SECONDS": "2",
    }
    airflow = Stack(home, env)
    try:
        airflow.run("db", "migrate")
        airflow.run("pools", "set", "monitor_http", "2", "page fetches")
        airflow.start("api-server", "api-server", "--port", str(port))
        airflow.start("scheduler", "scheduler")
        airflow.start("dag-processor", "dag-processor")
        yield airflow, meta_url, home
    finally:
        airflow.stop_all()
        try:
            next(metadata)
        except StopIteration:
            pass


def _worker(airflow: Stack, name: str, **extra: str) -> None:
    airflow.start(
        name,
        "celery",
        "worker",
        "--concurrency",
        "2",
        "--celery-hostname",
        f"{name}@%h",
        "--queues",
        airflow.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
        extra={"MONITOR_TEST_WORKER": name, **extra},
    )


def _trigger(airflow: Stack, run_id: str) -> None:
    airflow.run("dags", "trigger", DAG_ID, "--run-id", run_id, "--logical-date", DAY.isoformat())


def _state(meta_url: str, run_id: str) -> str | None:
    rows = _query(meta_url, "SELECT state FROM dag_run WHERE run_id = :r", r=run_id)
    return str(rows[0][0]) if rows else None


def _finish(airflow: Stack, meta_url: str, run_id: str) -> None:
    airflow.wait_for(
        f"DAG run {run_id} to finish",
        lambda: _state(meta_url, run_id) in ("success", "failed"),
    )
    tis = _query(
        meta_url,
        "SELECT task_id, map_index, state, try_number, hostname FROM task_instance "
        "WHERE run_id = :r ORDER BY task_id, map_index",
        r=run_id,
    )
    assert _state(meta_url, run_id) == "success", f"{tis}\n{airflow.tails()}"


def test_celery_run_spreads_over_workers_and_survives_a_killed_worker(
    reference, stack, smtp, tmp_path
):
    expected_rows, expected_mail = reference
    assert len(expected_mail) == 1
    airflow, meta_url, _home = stack
    first = _postgres_database()
    first_url = next(first)
    airflow.env["MONITOR_DATABASE_URL"] = first_url  # what the workers' tasks write to
    _worker(airflow, "w1")
    _worker(airflow, "w2")
    airflow.wait_for(
        "the dag-processor to parse the DAG",
        lambda: bool(_query(meta_url, "SELECT 1 FROM dag WHERE dag_id = :d", d=DAG_ID)),
    )
    airflow.run("dags", "unpause", DAG_ID)

    # 1. Four shards of each kind, spread over both workers: the dag.test() result.
    try:
        _trigger(airflow, "celery-1")
        _finish(airflow, meta_url, "celery-1")
        hosts = _query(
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
    _worker(airflow, "w1", MONITOR_TEST_PAUSE_AT="fetch:mid")
    try:
        _trigger(airflow, "celery-2")
        w1 = airflow.procs["w1"].pid
        airflow.wait_for("the fetch shard to stop halfway on w1", lambda: _stopped(w1))
        _worker(airflow, "w2")
        airflow.stop("w1", signal.SIGKILL)  # the worker and its task processes, kill -9
        _finish(airflow, meta_url, "celery-2")
        tries = _query(
            meta_url,
            "SELECT map_index, try_number, hostname FROM task_instance "
            "WHERE run_id = 'celery-2' AND task_id = 'fetch_articles' AND try_number > 1",
        )
        assert tries and all(h == "w2" for _i, _t, h in tries), tries
        assert _monitor_rows(second_url) == expected_rows
        assert _mail(smtp) == expected_mail  # one email, not two
    finally:
        next(second, None)
