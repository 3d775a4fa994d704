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
