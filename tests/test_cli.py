"""The ``monitor`` command as an operator uses it: the installed console script for
--help, typer's runner for the rest (same code path, faster)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DAY1, write_config
from typer.testing import CliRunner

from monitor.cli import app

pytestmark = pytest.mark.integration
MONITOR = Path(sys.executable).parent / "monitor"


@pytest.mark.parametrize("args", [[], ["init"], ["run"], ["last-run"], ["articles"], ["alerts"]])
def test_help_everywhere(args):
    done = subprocess.run(
        [str(MONITOR), *args, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: monitor" in done.stdout


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_init_twice_then_run_a_day(tmp_path, site, runner):
    cfg = str(write_config(tmp_path, site))
    first = runner.invoke(app, ["init", "--config", cfg])
    assert first.exit_code == 0, first.output
    assert "seed documents: 1" in first.output and "1 newly loaded" in first.output
    second = runner.invoke(app, ["init", "--config", cfg])
    assert "0 newly loaded" in second.output

    ran = runner.invoke(app, ["run", "--config", cfg, "--date", DAY1])
    assert ran.exit_code == 0, ran.output  # two feeds failed, but the run completed
    lines = ran.output.splitlines()
    assert lines[0] == f"run {DAY1}"
    assert "  feeds        3 ok, 2 failed" in lines
    assert "  articles     1 new" in lines
    assert "  duplicates   2" in lines
    assert "  off-topic    2" in lines
    assert "  alerts       1 raised, 1 sent" in lines
    assert any(line.startswith("    ✗ Dead feed: HTTP 500") for line in lines)
    assert any("email        outbox: " in line for line in lines)

    listed = runner.invoke(app, ["articles", "--config", cfg])
    assert "Taiwan and US agree to cut chip-sector tariff in trade deal" in listed.output
    alerts = runner.invoke(app, ["alerts", "--config", cfg])
    assert "sent  figure_change  tariff  tariff 20% → 15%" in alerts.output
    last = runner.invoke(app, ["last-run", "--config", cfg, "--require-feeds"])
    assert last.exit_code == 0 and "  articles     1 new" in last.output


def test_no_reachable_feed_points_to_the_demo(tmp_path, site, runner):
    cfg = str(write_config(tmp_path, site, feeds=[("Dead", "/status/503")]))
    ran = runner.invoke(app, ["run", "--config", cfg, "--date", DAY1])
    assert ran.exit_code == 0
    assert "No feed was reachable" in ran.output and "make demo" in ran.output
    last = runner.invoke(app, ["last-run", "--config", cfg, "--require-feeds"])
    assert last.exit_code == 1


def test_wrong_config_fails_before_any_fetch(tmp_path, site, runner):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"feeds:\n  - name: X\n    url: {site.url('/feeds/wire.xml')}\n    colour: red\n"
    )
    before = len(site.requests)
    ran = runner.invoke(app, ["run", "--config", str(bad)])
    assert ran.exit_code == 2
    assert str(bad) in ran.output and "feeds.0.colour" in ran.output
    assert len(site.requests) == before


def test_bad_date_and_unreachable_database(tmp_path, site, runner):
    cfg = str(write_config(tmp_path, site))
    bad_date = runner.invoke(app, ["run", "--config", cfg, "--date", "02/11/2026"])
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output
    down = runner.invoke(
        app,
        ["init", "--config", cfg],
        env={"MONITOR_DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"},
    )
    assert down.exit_code == 2
    assert "error: cannot migrate database" in down.output
    assert "secret" not in down.output and "Traceback" not in down.output
