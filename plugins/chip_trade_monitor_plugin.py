"""Airflow plugin: the analysts' web view (``monitor.web``) served by ``airflow
api-server`` under ``/monitor``, with a "Chip-trade monitor" entry in the UI's menu.

Pages: ``/monitor/stories`` (search and filters), ``/monitor/stories/{id}``,
``/monitor/trends``, ``/monitor/alert-log``, ``/monitor/feeds``; JSON:
``/monitor/last-run``, ``/monitor/alerts``; ``/monitor/docs`` and
``/monitor/openapi.json``. Every one of them, documentation included, requires a
logged-in Airflow user (plugin routes are open by default): the session cookie the UI
sets at login, or an ``Authorization: Bearer`` token from ``POST /auth/token``.
"""

from __future__ import annotations

from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin

from monitor.config import load_config
from monitor.web import create_app

app = create_app(load_config, get_user)


class ChipTradeMonitorPlugin(AirflowPlugin):
    name = "chip_trade_monitor"
    fastapi_apps = [{"app": app, "url_prefix": "/monitor", "name": "Chip-trade monitor"}]
    # The menu entry: the pages open inside the Airflow UI (an iframe at
    # /plugin/chip-trade-monitor); the href is relative to the UI's base URL.
    external_views = [
        {
            "name": "Chip-trade monitor",
            "href": "monitor/stories",
            "url_route": "chip-trade-monitor",
            "destination": "nav",
            "category": "browse",
        }
    ]
