"""Airflow on CeleryExecutor as separate processes, for the ``celery`` test and the load
benchmark (``bench/bench_airflow_load.py``): api-server, scheduler, dag-processor and
Celery workers against the machine's Redis (broker) and PostgreSQL (metadata and result
backend), each process with its log file, every one started and stopped by PID.

    env = celery_env(home, meta_url, config=config, smtp_url=smtp.url)
    airflow = Stack(home, env)
    try:
        airflow.start_services(pool_slots=2)
        airflow.worker("w1")
        airflow.wait_for_dag()
        airflow.run("dags", "unpause", DAG_ID)
        airflow.trigger("run-1", DAY)
        airflow.finish(meta_url, "run-1")
    finally:
        airflow.stop_all()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "chip_trade_monitor"
REDIS = ("127.0.0.1", 6379)
WAIT = 240.0  # seconds, for any one step on a loaded 2-core machine
# Workers name themselves (MONITOR_TEST_WORKER), so task_instance.hostname says which
# worker ran a task even though all run on this machine.
HOSTNAME_MODULE = """import os


def name() -> str:
    return os.environ.get("MONITOR_TEST_WORKER", "main")
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def celery_missing() -> str | None:
    """Why a Celery stack cannot run here (no provider, no Redis), or None."""
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError:
        return "apache-airflow-providers-celery is not installed (pip install the project)"
    try:
        with socket.create_connection(REDIS, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return "Redis at 127.0.0.1:6379 did not answer PING"
    except OSError as exc:
        return f"Redis not reachable at 127.0.0.1:6379 ({exc})"
    return None


def celery_env(
    home: Path,
    meta_url: str,
    *,
    config: Path,
    smtp_url: str | None = None,
    parallelism: int = 4,
    worker_concurrency: int = 2,
) -> dict[str, str]:
    """The environment of every process of one stack: its own AIRFLOW_HOME, metadata
    database, API port and Celery queue (on Redis database 7), so stacks never meet."""
    (home / "celery_host.py").write_text(HOSTNAME_MODULE, encoding="utf-8")
    port = free_port()
    queue = f"monitor-{uuid.uuid4().hex[:8]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env = {
        **base,
        "AIRFLOW_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(home)]),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_host.name",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        # psycopg 3 is async too; Airflow's default guess is asyncpg, not installed.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/7",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
        # A queue of this stack's own on the shared Redis: tasks go to the operators'
        # default queue, the workers listen on it alone.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CELERY__DEFAULT_QUEUE": queue,
        # Only triggered runs: no scheduled run of today appears beside the caller's.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "MONITOR_CONFIG": str(config),
        "MONITOR_RETRY_DELAY_SECONDS": "2",
    }
    if smtp_url is not None:
        env["MONITOR_SMTP_URL"] = smtp_url
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


class Stack:
    """The Airflow processes of one stack, each with its log file in ``home``."""

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

    def start_services(self, pool_slots: int = 2) -> None:
        """Migrate the metadata database, create the ``monitor_http`` pool, start the
        api-server, scheduler and dag-processor."""
        self.run("db", "migrate")
        self.run("pools", "set", "monitor_http", str(pool_slots), "page fetches")
        self.start("api-server", "api-server", "--port", self.env["AIRFLOW__API__PORT"])
        self.start("scheduler", "scheduler")
        self.start("dag-processor", "dag-processor")

    def worker(self, name: str, concurrency: int = 2, **extra: str) -> None:
        """A Celery worker on this stack's queue, naming itself ``name``."""
        self.start(
            name,
            "celery",
            "worker",
            "--concurrency",
            str(concurrency),
            "--celery-hostname",
            f"{name}@%h",
            "--queues",
            self.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
            extra={"MONITOR_TEST_WORKER": name, **extra},
        )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        for pid in [*descendants(proc.pid), proc.pid] if sig == signal.SIGKILL else [proc.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in [*descendants(proc.pid), proc.pid]:
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
        return "\n".join(f"--- {n} ---\n{tail(self.log(n))}" for n in names)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = WAIT) -> None:
        """Poll ``check`` each second; fail when a process exits or after ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if check():
                return
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"{name} exited ({proc.returncode})\n{self.tails()}"
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.tails()}")

    def wait_for_dag(self, meta_url: str, dag_id: str = DAG_ID) -> None:
        self.wait_for(
            "the dag-processor to parse the DAG",
            lambda: bool(query(meta_url, "SELECT 1 FROM dag WHERE dag_id = :d", d=dag_id)),
        )

    def trigger(self, run_id: str, day: datetime, dag_id: str = DAG_ID) -> None:
        self.run("dags", "trigger", dag_id, "--run-id", run_id, "--logical-date", day.isoformat())

    def finish(self, meta_url: str, run_id: str, timeout: float = WAIT) -> list[tuple[Any, ...]]:
        """Wait for the DAG run to end; assert it succeeded; its task instances."""
        self.wait_for(
            f"DAG run {run_id} to finish",
            lambda: run_state(meta_url, run_id) in ("success", "failed"),
            timeout=timeout,
        )
        tis = query(
            meta_url,
            "SELECT task_id, map_index, state, try_number, hostname FROM task_instance "
            "WHERE run_id = :r ORDER BY task_id, map_index",
            r=run_id,
        )
        assert run_state(meta_url, run_id) == "success", f"{tis}\n{self.tails()}"
        return tis


def run_state(meta_url: str, run_id: str) -> str | None:
    rows = query(meta_url, "SELECT state FROM dag_run WHERE run_id = :r", r=run_id)
    return str(rows[0][0]) if rows else None


def descendants(pid: int) -> list[int]:
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


def stopped(pid: int) -> bool:
    """A process below ``pid`` stopped itself (SIGSTOP at a pause point)."""
    for child in descendants(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "T":
            return True
    return False
