"""The Airflow plugin: found by Airflow's plugin manager, with a menu entry, and closed
to anonymous users on every route, documentation included."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT

PLUGIN = ROOT / "plugins" / "chip_trade_monitor_plugin.py"
PAGES = [
    "/stories",
    "/stories/1",
    "/trends",
    "/alert-log",
    "/feeds",
    "/last-run",
    "/alerts",
    "/docs",
    "/openapi.json",
    "/",
]


@pytest.fixture(scope="module")
def plugin_module():
    spec = importlib.util.spec_from_file_location("chip_trade_monitor_plugin", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_mounts_the_pages_under_monitor_with_a_menu_entry(plugin_module):
    plugin = plugin_module.ChipTradeMonitorPlugin
    assert plugin.name == "chip_trade_monitor"
    [mounted] = plugin.fastapi_apps
    assert mounted["url_prefix"] == "/monitor"
    paths = {route.path for route in mounted["app"].routes}
    assert {p.replace("/1", "/{story_id}") for p in PAGES} == paths
    [view] = plugin.external_views
    assert view["href"] == "monitor/stories" and view["destination"] == "nav"
    assert not view["href"].startswith("/")  # relative to the UI's base URL


@pytest.fixture(scope="module")
def auth_manager(plugin_module):
    """Airflow's configured auth manager (SimpleAuthManager), as the api-server has it."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.utils import db

    db.resetdb()  # the revoked-token table a JWT is checked against (a temporary home)
    with pytest.MonkeyPatch.context() as patch:
        # A key of the length SHA-512 wants (the unit-test default is shorter).
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "k" * 64)
        yield create_auth_manager()


@pytest.mark.parametrize("path", PAGES)
def test_every_route_refuses_anonymous_users(plugin_module, auth_manager, path):
    from starlette.testclient import TestClient

    with TestClient(plugin_module.app, root_path="/monitor") as client:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401, response.text
        forged = client.get(
            path, headers={"Authorization": "Bearer not-a-jwt"}, follow_redirects=False
        )
        assert forged.status_code in (401, 403), forged.text


def test_a_logged_in_user_gets_the_pages(plugin_module, auth_manager, tmp_path, monkeypatch):
    """A JWT signed by Airflow's own auth manager, as the UI's login gives it (the
    ``_token`` cookie) or ``POST /auth/token`` returns it (a Bearer header)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from starlette.testclient import TestClient

    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    from monitor import pipeline
    from monitor.config import load_config

    pipeline.init(load_config())
    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username="analyst", role="viewer"))
    with TestClient(plugin_module.app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for path in ["/stories", "/trends", "/alert-log", "/feeds", "/docs", "/openapi.json"]:
            assert client.get(path).status_code == 200, path
        assert "No stories match." in client.get("/stories").text
        assert client.get("/openapi.json").json()["info"]["title"].startswith("Taiwan")
    with TestClient(plugin_module.app, cookies={"_token": token}) as browser:
        assert browser.get("/alert-log").status_code == 200
