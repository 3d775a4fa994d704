"""The ``monitor`` command as an operator uses it: the installed console script for
--help, typer's runner for the rest (same code path, faster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DAY1, write_config
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.cli import app

pytestmark = pytest.mark.integration
MONITOR = Path(sys.executable).parent / "monitor"


@pytest.mark.parametrize(
    "args", [[], ["init"], ["run"], ["last-run"], ["articles"], ["alerts"], ["serve"]]
)
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

    listed = runner.invoke(app, ["articles", "--config", cfg]).output.splitlines()
    assert listed[0].split() == ["id", "published", "outlet", "lang", "title", "url"]
    assert set(listed[1]) == {"-", " "}
    [row] = [line for line in listed[2:] if "chip-sector tariff" in line]
    url = site.url("/articles/tariff-deal-15-percent.html")
    cells = [cell.strip() for cell in row.split("  ") if cell.strip()]
    assert cells[1:4] == ["2026-11-02 03:00 UTC", "Formosa Wire", "en"]
    assert "Taiwan and US agree to cut chip-sector tariff in trade deal" in row
    assert row.endswith(url)
    # Every column starts at the same place on every line.
    starts = [listed[0].index(h) for h in ("published", "outlet", "title", "url")]
    assert [row.index(v) for v in ("2026-11-02", "Formosa Wire", "Taiwan and", url)] == starts

    shown = runner.invoke(app, ["alerts", "--config", cfg]).output.splitlines()
    header = [cell.strip() for cell in shown[0].split("  ") if cell.strip()]
    assert header == [
        "id",
        "run date",
        "status",
        "rule",
        "keyword",
        "summary",
        "tries",
        "last error",
    ]
    assert [cell.strip() for cell in shown[2].split("  ") if cell.strip()][:5] == [
        "1",
        DAY1,
        "sent",
        "figure_change",
        "tariff",
    ]
    assert "tariff 20% → 15% (US tariff on Taiwan), reported by 1 outlet" in shown[2]
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


# -- every bad input is one line and exit 2, never a traceback ------------------------


def _one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    for part in expected:
        assert part in errors[0], errors[0]


def test_config_file_that_is_not_utf8(tmp_path, runner):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("timezone: Asia/Taipei\n# Café des Arts\n".encode("latin-1"))
    ran = runner.invoke(app, ["run", "--config", str(bad)])
    _one_line_error(ran, str(bad), "not UTF-8 text (byte 0xe9 on line 2)")


def test_data_directory_or_sqlite_path_that_cannot_be_made(tmp_path, site, runner):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    cfg = write_config(tmp_path, site).read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(cfg.replace(f"data_dir: {tmp_path / 'var'}", f"data_dir: {blocker}/var"))
    ran = runner.invoke(app, ["run", "--config", str(bad), "--date", DAY1])
    _one_line_error(ran, f"cannot create the folder {blocker}/var for the database")
    ran = runner.invoke(
        app,
        ["init", "--config", str(write_config(tmp_path, site))],
        env={"MONITOR_DATABASE_URL": f"sqlite:///{blocker}/monitor.db"},
    )
    _one_line_error(ran, f"cannot create the folder {blocker} for the database")


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_run_date_out_of_range(tmp_path, site, runner, day):
    cfg = str(write_config(tmp_path, site))
    before = len(site.requests)
    ran = runner.invoke(app, ["run", "--config", cfg, "--date", day])
    _one_line_error(ran, f"--date {day} is out of range: give a day from 1970-01-01")
    assert len(site.requests) == before


@pytest.mark.parametrize("alert_id", ["99999999999999999999", "2147483648", "-1"])
def test_resend_an_alert_id_beyond_the_integer_range(tmp_path, site, runner, db_url, alert_id):
    cfg = str(write_config(tmp_path, site))
    env = {"MONITOR_DATABASE_URL": db_url}
    assert runner.invoke(app, ["init", "--config", cfg], env=env).exit_code == 0
    ran = runner.invoke(app, ["alerts", "resend", "--config", cfg, "--", alert_id], env=env)
    _one_line_error(ran, f"no alert #{alert_id}: alert ids run from 1 to 2147483647")
    missing = runner.invoke(app, ["alerts", "resend", "2147483647", "--config", cfg], env=env)
    _one_line_error(missing, "no alert #2147483647")


def test_concurrent_first_runs_on_a_fresh_postgresql_database(tmp_path, site):
    """Two `monitor run`s at once on an empty database: both register the feeds (an
    upsert) and migrate in turn (an advisory lock); both succeed, nothing twice."""
    from conftest import _postgres_database

    cfg = str(write_config(tmp_path, site))
    command = [sys.executable, "-c", "from monitor.cli import main; main()"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    for trial in range(3):
        databases = _postgres_database()
        db_url = next(databases)
        try:
            env["MONITOR_DATABASE_URL"] = db_url
            runs = [
                subprocess.Popen(
                    [*command, "run", "--config", cfg, "--date", DAY1],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            outputs = [run.communicate(timeout=180) for run in runs]
            for run, (out, err) in zip(runs, outputs, strict=True):
                assert run.returncode == 0, f"trial {trial}: {out}\n{err}"
                assert "Traceback" not in err
            engine = create_engine(db_url)
            try:
                with engine.connect() as conn:
                    feeds = conn.execute(text("SELECT count(*), count(DISTINCT url) FROM feeds"))
                    assert tuple(feeds.one()) == (5, 5)
                    entries = conn.execute(
                        text("SELECT count(*), count(DISTINCT (feed_id, guid)) FROM entries")
                    )
                    total, distinct = entries.one()
                    assert total == distinct
                    seeds = conn.execute(text("SELECT count(*) FROM seed_documents"))
                    assert seeds.scalar() == 1
            finally:
                engine.dispose()
        finally:
            databases.close()


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Taipei raises its US chip investment pledge | Harbor Daily</title>
<link rel="canonical" href="https://harbordaily.example/business/pledge">
<meta property="og:site_name" content="Harbor Daily">
<meta property="article:published_time" content="2026-11-02T23:40:00+08:00">
</head><body><article><h1>Taipei raises its US chip investment pledge</h1>
<p>Taiwan raised its pledge of investment in American chip plants on Monday, officials
said, as negotiators in Washington worked on the tariff that semiconductors would face
under the trade agreement the two sides have been discussing since the spring.</p>
</article></body></html>
"""


def test_extract_reads_a_saved_page_offline(tmp_path, runner):
    page = tmp_path / "pledge.html"
    page.write_text(PAGE, encoding="utf-8")
    done = runner.invoke(app, ["extract", "--json", str(page)])
    assert done.exit_code == 0, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    text = got.pop("text")
    assert got == {
        "source": str(page),
        "url": page.resolve().as_uri(),
        "error": None,
        "title": "Taipei raises its US chip investment pledge",
        "published_at": "2026-11-02T23:40:00+08:00",
        "published_source": "page",
        "published_date": "2026-11-02",
        "language": "en",
        "canonical_url": "https://harbordaily.example/business/pledge",
        "site_name": "Harbor Daily",
    }
    assert "Taiwan raised its pledge of investment" in text


def test_extract_fetches_urls_with_the_run_guards(tmp_path, site, runner):
    url = site.url("/articles/tariff-deal-15-percent.html")
    config = write_config(tmp_path, site)
    done = runner.invoke(app, ["extract", "--json", "--config", str(config), url])
    assert done.exit_code == 0, done.output
    got = json.loads(done.output)
    assert (got["title"], got["published_at"], got["published_source"]) == (
        "Taiwan and US agree to cut chip-sector tariff in trade deal",
        "2026-11-02T11:00:00+08:00",
        "page",
    )
    # Without allow_private_addresses a run refuses the local address, and so does extract.
    strict = tmp_path / "strict.yaml"
    strict.write_text(f"data_dir: {tmp_path / 'var'}\n", encoding="utf-8")
    before = len(site.requests)
    refused = runner.invoke(app, ["extract", "--json", "--config", str(strict), url])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["error"]
    assert len(site.requests) == before


def test_the_command_line_starts_without_the_heavy_libraries(tmp_path):
    """`monitor --help` and `monitor articles` import neither trafilatura, matplotlib,
    datasketch nor Airflow (the start-up time itself is in bench/bench_cli.py)."""
    heavy = ("trafilatura", "matplotlib", "datasketch", "airflow", "scipy", "htmldate")
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from monitor.cli import app\n"
        "r = CliRunner().invoke(app, sys.argv[1:])\n"
        "assert r.exit_code == 0, r.output\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    db = f"sqlite:///{tmp_path / 'm.db'}"
    env = {**os.environ, "MONITOR_DATABASE_URL": db}
    from monitor.storage import Store

    store = Store(db)
    store.migrate()
    store.close()
    for args in (["--help"], ["articles"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == "[]", (args, done.stdout)
