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
    def collect_feeds(_prepared: dict[str, int]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config

        return pipeline.collect_feeds(load_config(), _run_date()).to_xcom()

    @task
    def fetch_articles(collected: dict[str, object]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import CollectResult

        ids = CollectResult.from_xcom(collected).entry_ids
        return pipeline.fetch_articles(load_config(), ids, _run_date()).to_xcom()

    @task
    def store_articles(fetched: dict[str, object]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import FetchStageResult

        ids = FetchStageResult.from_xcom(fetched).entry_ids
        return pipeline.store_articles(load_config(), _run_date(), ids).to_xcom()

    @task
    def detect_changes(stored: dict[str, object]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import StoreResult

        ids = StoreResult.from_xcom(stored).article_ids
        return pipeline.detect_changes(load_config(), _run_date(), ids).to_xcom()

    @task
    def send_alerts(
        collected: dict[str, object],
        fetched: dict[str, object],
        stored: dict[str, object],
        detected: dict[str, object],
    ) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import CollectResult, DetectResult, FetchStageResult, StoreResult

        cfg = load_config()
        if cfg.smtp is None:  # no MONITOR_SMTP_URL: Airflow's smtp_default, if defined
            cfg = cfg.model_copy(update={"smtp": _smtp_default()})
        summary = pipeline.send_and_report(
            cfg,
            _run_date(),
            CollectResult.from_xcom(collected),
            FetchStageResult.from_xcom(fetched),
            StoreResult.from_xcom(stored),
            DetectResult.from_xcom(detected),
        )
        return summary.as_dict()

    # Called at parse time, a task takes XComArgs where its body takes their values: the
    # task SDK's typing cannot say so, hence the ignores on the wiring lines only.
    collected = collect_feeds(prepare())  # type: ignore[arg-type]
    fetched = fetch_articles(collected)  # type: ignore[arg-type]
    stored = store_articles(fetched)  # type: ignore[arg-type]
    detected = detect_changes(stored)  # type: ignore[arg-type]
    send_alerts(collected, fetched, stored, detected)  # type: ignore[arg-type]


chip_trade_monitor()
