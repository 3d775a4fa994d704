"""The README's benchmark and evaluation commands run and print their figures (tiny
sizes here: the figures themselves are read from full runs, not asserted as timings)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        (
            "bench_fetch.py",
            ["--feeds", "2", "--articles", "3", "--latency", "0.01", "--baseline-pages", "3"],
            "cold / extraction-only",
        ),
        ("bench_dedup.py", ["--sizes", "100,200", "--queries", "5"], "LSH lookup at the largest"),
        ("eval_relevance.py", [], "precision 1.000  recall 1.000"),
        ("eval_dedup.py", [], "precision"),
        ("eval_realnews.py", [], "false readings"),
        ("eval_scenario.py", [], "figure alerts sent: 1"),
        ("soak.py", ["--days", "3", "--per-day", "8"], "median run time, days 2-6"),
        ("eval_dates.py", [], "exact-day accuracy  pipeline"),
        ("bench_extract.py", ["--limit", "5", "--repeat", "1"], "pipeline / bare"),
        ("bench_cli.py", ["--runs", "1"], "monitor articles"),
        # The Airflow half starts the same stack as the celery test; here only the site
        # over many hosts, monitor run and the figures (needs the local PostgreSQL).
        (
            "bench_airflow_load.py",
            ["--feeds", "4", "--items", "2", "--hosts", "4", "--skip-airflow"],
            "per-host max / limit",
        ),
        (
            "bench_warm.py",
            ["--feeds", "4", "--articles", "1", "--fresh-every", "2", "--latency", "0"],
            "sqlite this tree",
        ),
        ("bench_rss.py", ["--sizes", "50", "--pad", "1000"], "this tree"),
    ],
)
def test_bench_scripts_run(script, args, expected):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
