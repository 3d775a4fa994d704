"""Show an ``airflow dags test`` run as it goes: one line per task as it finishes.

``make run`` and ``make demo`` pipe Airflow's output through this script, which writes
every line to a log file and prints only each task's end (state and seconds), so a
run is neither silent for a minute nor a wall of log lines::

    airflow dags test chip_trade_monitor 2026-11-02 2>&1 \
        | python deploy/dag_progress.py LOG [TASK_LOG_FOLDER]

It exits with 1 when a task or the run failed, and prints the log's last lines then.

``airflow dags test`` runs every task inside its own process and writes no task log
file, so the Airflow UI answered "Log file not found" (it then asks the worker's log
server, which nobody runs) for the runs ``make run`` made. Given TASK_LOG_FOLDER (the
``[logging] base_log_folder`` the api-server reads), each task's lines are also written
where the UI looks for them, under Airflow's default ``log_filename_template``:
``dag_id=D/run_id=R/task_id=T/[map_index=N/]attempt=K.log``.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z?")
_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
_STATE = re.compile(r"new_state=(\w+)")
_RUN_DONE = re.compile(r"Marking run .* (successful|failed)")
_START_MAP = re.compile(r"\[DAG TEST\] starting task_id=\S+ map_index=(-?\d+)")
# "[DAG TEST] running task <TaskInstance: DAG.TASK RUN_ID [map_index=N] [STATE] ...>"
_RUNNING = re.compile(r"\[DAG TEST\] running task <TaskInstance: (\S+) (\S+) ")


class TaskLogs:
    """Each task attempt's lines, in the file the Airflow UI reads for it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.task = ""
        self.map_index = -1
        self.pending: list[str] = []  # the attempt's lines until its run id is known
        self.out: TextIO | None = None
        self.attempts: dict[tuple[str, int], int] = {}

    def start(self, task: str, map_index: int) -> None:
        self.end()
        self.task, self.map_index = task, map_index

    def write(self, line: str) -> None:
        if not self.task:
            return
        if self.out is None:
            self.pending.append(line)
            if found := _RUNNING.search(line):
                self._open(found.group(1), found.group(2))
            return
        self.out.write(line)
        self.out.flush()

    def _open(self, dag_task: str, run_id: str) -> None:
        dag_id = dag_task.removesuffix(f".{self.task}")
        key = (self.task, self.map_index)
        self.attempts[key] = attempt = self.attempts.get(key, 0) + 1
        path = self.folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={self.task}"
        if self.map_index >= 0:
            path /= f"map_index={self.map_index}"
        path /= f"attempt={attempt}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.out = path.open("w", encoding="utf-8")
        self.out.writelines(self.pending)
        self.out.flush()

    def end(self) -> None:
        if self.out is not None:
            self.out.close()
        self.out, self.task, self.pending = None, "", []


def _time(line: str) -> datetime | None:
    found = _STAMP.match(line)
    return datetime.fromisoformat(found.group(1)) if found else None


def follow(lines: Iterable[str], log: Path, task_logs: Path | None = None) -> int:
    started: dict[str, datetime | None] = {}
    state = ""
    failed = False
    finished = ""
    tail: deque[str] = deque(maxlen=40)
    tasks = TaskLogs(task_logs) if task_logs is not None else None
    with log.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.flush()
            tail.append(line)
            start = _START.search(line)
            if tasks is not None:
                if start:
                    index = _START_MAP.search(line)
                    tasks.start(start.group(1), int(index.group(1)) if index else -1)
                tasks.write(line)
            if start:
                started[start.group(1)] = _time(line)
                state = ""
            elif found := _STATE.search(line):
                state = found.group(1)
            elif found := _END.search(line):
                task = found.group(1)
                begun, now = started.get(task), _time(line)
                took = f" in {(now - begun).total_seconds():.1f} s" if begun and now else ""
                mark = "✓" if state in ("", "success") else "✗"
                failed |= mark == "✗"
                print(f"  {mark} {task} {state or 'done'}{took}", flush=True)
                if tasks is not None:
                    tasks.end()
            elif found := _RUN_DONE.search(line):
                finished = found.group(1)
    if tasks is not None:
        tasks.end()
    if failed or finished != "successful":
        sys.stdout.writelines(tail)
        print(f"Airflow run {finished or 'did not finish'}; full log: {log}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    task_log_folder = Path(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    sys.exit(follow(sys.stdin, Path(sys.argv[1]), task_log_folder))
