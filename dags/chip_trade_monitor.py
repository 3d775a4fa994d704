"""Daily Taiwan–US chip-trade monitor: feeds → articles → dedupe/store → alerts → email.

Each task is one call into ``monitor.pipeline``; tasks pass ids and counts through XCom,
never article bodies. The ids are hints only: each stage takes its work from the
database (whatever an earlier, killed attempt left), so a retried task or a rerun day
finishes what was interrupted; a task that loses the database fails and is retried.
Config comes from ``MONITOR_CONFIG`` / ``MONITOR_DATABASE_URL`` / ``MONITOR_SMTP_URL`` at
run time, never at import time; without ``MONITOR_SMTP_URL`` the
alert email goes through Airflow's ``smtp_default`` connection when one is defined. The
run's day is the logical date (``airflow dags test chip_trade_monitor 2026-11-02`` runs
2 November).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task

DEFAULT_ARGS = {
    "owner": "chip-trade-monitor",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}


def _run_date() -> date:
    context = get_current_context()
    when = context.get("logical_date") or context["dag_run"].run_after
    return date(when.year, when.month, when.day)


def _smtp_default() -> Any:
    """SmtpSettings from the ``smtp_default`` connection, or None (the outbox) without one."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from monitor.alerts import smtp_from_connection

    try:
        conn = BaseHook.get_connection("smtp_default")
    except AirflowNotFoundException:
        return None
    return smtp_from_connection(conn.host, conn.port, conn.login, conn.password, conn.extra_dejson)


@dag(
    dag_id="chip_trade_monitor",
    schedule="30 23 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["monitor", "chip-trade"],
    doc_md=__doc__,
)
def chip_trade_monitor() -> None:
    @task
    def prepare() -> dict[str, int]:
        from monitor import pipeline
        from monitor.config import load_config

        stats = pipeline.init(load_config())
        return {"seeds_total": stats.seeds_total, "seeds_loaded": stats.seeds_loaded}

    @task
    def collect_feeds(_prepared: dict[str, int]) -> dict[str, Any]:
        from monitor import pipeline
        from monitor.config import load_config

        return pipeline.collect_feeds(load_config(), _run_date())

    @task
    def fetch_articles(collected: dict[str, Any]) -> dict[str, Any]:
        from monitor import pipeline
        from monitor.config import load_config

        return pipeline.fetch_articles(load_config(), collected["entry_ids"], _run_date())

    @task
    def store_articles(fetched: dict[str, Any]) -> dict[str, Any]:
        from monitor import pipeline
        from monitor.config import load_config

        return pipeline.store_articles(load_config(), _run_date(), fetched["entry_ids"])

    @task
    def detect_changes(stored: dict[str, Any]) -> dict[str, Any]:
        from monitor import pipeline
        from monitor.config import load_config

        return pipeline.detect_changes(load_config(), _run_date(), stored["article_ids"])

    @task
    def send_alerts(
        collected: dict[str, Any],
        fetched: dict[str, Any],
        stored: dict[str, Any],
        changes: dict[str, Any],
    ) -> dict[str, Any]:
        from monitor import pipeline
        from monitor.config import load_config

        cfg = load_config()
        if cfg.smtp is None:  # no MONITOR_SMTP_URL: Airflow's smtp_default, if defined
            cfg = cfg.model_copy(update={"smtp": _smtp_default()})
        return pipeline.send_and_report(cfg, _run_date(), collected, fetched, stored, changes)

    collected = collect_feeds(prepare())
    fetched = fetch_articles(collected)
    stored = store_articles(fetched)
    changes = detect_changes(stored)
    send_alerts(collected, fetched, stored, changes)


chip_trade_monitor()
