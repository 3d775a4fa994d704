"""The Airflow plugin: found by Airflow's plugin manager, and closed to anonymous users."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT

PLUGIN = ROOT / "plugins" / "chip_trade_monitor_plugin.py"


@pytest.fixture(scope="module")
def plugin_module():
    spec = importlib.util.spec_from_file_location("chip_trade_monitor_plugin", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_mounts_the_api_under_monitor(plugin_module):
    plugin = plugin_module.ChipTradeMonitorPlugin
    assert plugin.name == "chip_trade_monitor"
    [mounted] = plugin.fastapi_apps
    assert mounted["url_prefix"] == "/monitor"
    paths = {route.path for route in mounted["app"].routes}
    assert {"/last-run", "/alerts"} <= paths


@pytest.mark.parametrize("path", ["/last-run", "/alerts"])
def test_routes_refuse_anonymous_users(plugin_module, path):
    from starlette.testclient import TestClient

    with TestClient(plugin_module.app) as client:
        response = client.get(path)
    assert response.status_code == 401
