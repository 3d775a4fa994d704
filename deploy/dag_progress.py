"""Show an ``airflow dags test`` run as it goes: one line per task as it finishes.

``make run`` and ``make demo`` pipe Airflow's output through this script, which writes
every line to a log file and prints only each task's end (state and seconds), so a
run is neither silent for a minute nor a wall of log lines::

    airflow dags test chip_trade_monitor 2026-11-02 2>&1 | python deploy/dag_progress.py LOG

It exits with 1 when a task or the run failed, and prints the log's last lines then.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z?")
_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
_STATE = re.compile(r"new_state=(\w+)")
_RUN_DONE = re.compile(r"Marking run .* (successful|failed)")


def _time(line: str) -> datetime | None:
    found = _STAMP.match(line)
    return datetime.fromisoformat(found.group(1)) if found else None


def follow(lines: Iterable[str], log: Path) -> int:
    started: dict[str, datetime | None] = {}
    state = ""
    failed = False
    finished = ""
    tail: deque[str] = deque(maxlen=40)
    with log.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.flush()
            tail.append(line)
            if found := _START.search(line):
                started[found.group(1)] = _time(line)
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
            elif found := _RUN_DONE.search(line):
                finished = found.group(1)
    if failed or finished != "successful":
        sys.stdout.writelines(tail)
        print(f"Airflow run {finished or 'did not finish'}; full log: {log}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(follow(sys.stdin, Path(sys.argv[1])))
