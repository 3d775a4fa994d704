"""The analysts' web view (FastAPI + Jinja2): served by Airflow's api-server through
``plugins/chip_trade_monitor_plugin.py``, or alone by ``monitor serve``."""

from __future__ import annotations

from monitor.web.app import create_app, local_app

__all__ = ["create_app", "local_app"]
