"""Airflow plugin: a small read-only API for the monitor, served by ``airflow api-server``
under ``/monitor`` (``/monitor/last-run``, ``/monitor/alerts``).

Every route requires a logged-in Airflow user (plugin routes are open by default). The
library is imported inside the handlers, so loading the plugin costs nothing.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.core_api.security import GetUserDep
from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI

app = FastAPI(title="Taiwan–US chip-trade monitor", version="1")


def _view(name: str, columns: list[str], order_by: str) -> list[dict[str, Any]]:
    from monitor import pipeline
    from monitor.config import load_config

    store = pipeline.open_store(load_config())
    try:
        return store.view(name, columns, order_by)
    finally:
        store.close()


@app.get("/last-run")
def last_run(user: GetUserDep) -> dict[str, Any]:
    """The newest run's summary counts."""
    from monitor import pipeline
    from monitor.config import load_config

    store = pipeline.open_store(load_config())
    try:
        found = store.last_run()
    finally:
        store.close()
    return {} if found is None else found[1]


@app.get("/alerts")
def alerts(user: GetUserDep) -> list[dict[str, Any]]:
    """Every alert, oldest first (the v_alerts view)."""
    columns = ["id", "created_at", "keyword", "rule", "summary", "status", "sent_at"]
    return _view("v_alerts", columns, "id")


class ChipTradeMonitorPlugin(AirflowPlugin):
    name = "chip_trade_monitor"
    fastapi_apps = [{"app": app, "url_prefix": "/monitor", "name": "Chip-trade monitor API"}]
