"""The README stays true: its commands exist, its make targets resolve, its SQL files
and config keys are the real ones."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ROOT

from monitor.cli import app
from monitor.config import load_config

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("target", ["run", "test", "demo"])
def test_make_targets_in_the_readme_resolve(target):
    assert f"make {target}" in README
    done = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_every_cli_command_is_documented_and_every_documented_one_exists():
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    commands |= {g.name for g in app.registered_groups}
    documented = set(re.findall(r"^monitor ([a-z-]+)", README, flags=re.M))
    assert documented == commands


def test_sql_files_listed_in_the_readme_are_the_ones_shipped():
    listed = set(re.findall(r"`([a-z_]+\.sql)`", README))
    shipped = {p.name for p in (ROOT / "sql" / "queries").glob("*.sql") if p.stem.count(".") == 0}
    assert listed == shipped


def test_config_keys_in_the_readme_exist():
    cfg = load_config(env={}).model_dump()
    keys = re.findall(r"`((?:http|alerts|topic|watch|dedup)\.[a-z_]+)`", README)
    assert keys
    for key in keys:
        section, name = key.split(".")
        assert name in cfg[section], key


# -- "After the demo": the commands run as written, on the demo's own data ------------


def _after_the_demo_commands() -> list[str]:
    section = README.split("### After the demo", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    commands: list[str] = []
    for block in blocks:
        commands += [" ".join(c.split()) for c in block.replace("\\\n", " ").splitlines()]
    return [c for c in commands if c]


def test_after_the_demo_lists_the_commands_a_newcomer_needs():
    commands = _after_the_demo_commands()
    prefix = "MONITOR_CONFIG=config/demo.yaml MONITOR_DATA_DIR=var/demo .venv/bin/monitor "
    assert prefix + "articles" in commands and prefix + "alerts" in commands
    assert prefix + "serve" in commands
    assert "sqlite3 var/demo/monitor.db < sql/queries/stories.sql" in commands
    assert prefix + "search 台積電" in commands
    assert any(c.endswith(".venv/bin/airflow api-server --port 8080") for c in commands)
    section = README.split("### After the demo", 1)[1]
    assert "var/airflow/simple_auth_manager_passwords.json.generated" in section
    assert "paused" in section


@pytest.mark.integration
def test_after_the_demo_commands_show_the_demo_data(tmp_path, site):
    """The demo's two days run on the demo config (its port from DEMO_PORT, as make demo
    sets it), then each README command runs in a shell as written, with only the
    paths pointed at this test's folders."""
    import os
    import shutil
    import sys
    from datetime import date
    from pathlib import Path

    from conftest import DAY1, DAY2

    from monitor import pipeline

    if shutil.which("sqlite3") is None:
        pytest.skip("no sqlite3 command")
    data = tmp_path / "demo"
    env = {
        **os.environ,
        "DEMO_PORT": str(site.port),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("MONITOR_DATABASE_URL", None)
    cfg = load_config(
        ROOT / "config" / "demo.yaml",
        env={"DEMO_PORT": str(site.port), "MONITOR_DATA_DIR": str(data)},
    )
    assert cfg.feeds[0].url == site.url("/feeds/wire.xml")
    pipeline.init(cfg)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    pipeline.run_day(cfg, date.fromisoformat(DAY2))

    venv_monitor = str(Path(sys.executable).parent / "monitor")
    expected = {
        "articles": ["published", "2026-11-02 03:00 UTC", "台美關稅協議出爐"],
        "alerts": ["tariff 20% → 15%", "export controls", "CHIPS Act"],
        "feeds": ["Formosa Wire", "Broken feed (on purpose)"],
        "explain 3": ["merged, near_duplicate: near-duplicate of seed #1"],
        "stories.sql": ["Taiwan and US agree to cut chip-sector tariff"],
        "keyword_mentions_by_day.sql": ["tariff"],
        # The watched group: 台積電 finds the English TSMC stories too, highlighted.
        "search 台積電": ["台美關稅協議出爐", "[TSMC]", "Taiwan and US agree"],
        "search tariff": ["Taiwan and US agree to cut chip-sector tariff", "[tariffs]"],
    }
    ran = 0
    for command in _after_the_demo_commands():
        if "api-server" in command or command.endswith(" serve"):
            continue  # long-running servers: tested in test_web.py and test_plugin.py
        line = command.replace("var/demo", str(data)).replace(".venv/bin/monitor", venv_monitor)
        done = subprocess.run(
            ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (command, done.stderr)
        [key] = [k for k in expected if command.endswith(k)]
        for text in expected[key]:
            assert text in done.stdout, (command, done.stdout)
        ran += 1
    assert ran == len(expected)
