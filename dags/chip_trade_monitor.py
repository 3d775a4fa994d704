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

import os
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.sdk import TriggerRule, dag, get_current_context, task

DEFAULT_ARGS = {
    "owner": "chip-trade-monitor",
    "retries": 2,
    # MONITOR_RETRY_DELAY_SECONDS: shorter waits for tests of retries (default 5 minutes).
    "retry_delay": timedelta(seconds=int(os.environ.get("MONITOR_RETRY_DELAY_SECONDS", "300"))),
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


POOL = "monitor_http"  # create it with the slots fetches may take at once (README)


def _failed(task_id: str, shards: Sequence[int], parts: Iterable[Any]) -> list[str]:
    """The shards of a mapped task that left no result (failed after their retries)."""
    done = {part["shard"] for part in parts if part is not None}
    return [f"{task_id}[{k}]" for k in shards if k not in done]


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
    def prepare() -> list[int]:
        """Migrate, load the seeds; the shard numbers (``airflow.shards``) to map over."""
        from monitor import pipeline
        from monitor.config import load_config

        cfg = load_config()
        pipeline.init(cfg)
        return list(range(cfg.airflow.shards))

    @task(map_index_template="feeds {{ shard }}")
    def collect_feeds(shard: int, shards: list[int]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config

        result = pipeline.collect_feeds(load_config(), _run_date(), shard, len(shards))
        return {**result.to_xcom(), "shard": shard}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def collect_done(shards: list[int], parts: list[dict[str, Any]]) -> dict[str, object]:
        """After every feed shard, failed or not: feed-health alerts, the merged result."""
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import CollectResult

        found = [p for p in parts if p is not None]
        merged = pipeline.collect_done(
            load_config(), _run_date(), [CollectResult.from_xcom(p) for p in found]
        )
        return {**merged.to_xcom(), "failed_shards": _failed("collect_feeds", shards, found)}

    @task(pool=POOL, map_index_template="hosts {{ shard }}")
    def fetch_articles(
        shard: int, shards: list[int], collected: dict[str, Any]
    ) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import CollectResult

        ids = CollectResult.from_xcom(collected).entry_ids
        result = pipeline.fetch_articles(load_config(), ids, _run_date(), shard, len(shards))
        return {**result.to_xcom(), "shard": shard}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def store_articles(
        shards: list[int], collected: dict[str, Any], parts: list[dict[str, Any]]
    ) -> dict[str, object]:
        """Once, after every host shard, failed or not: stores what the shards fetched
        (and whatever pages earlier runs left), in publication and link order."""
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import FetchStageResult

        found = [p for p in parts if p is not None]
        fetched = FetchStageResult.merge([FetchStageResult.from_xcom(p) for p in found])
        stored = pipeline.store_articles(load_config(), _run_date(), fetched.entry_ids)
        failed = [*collected["failed_shards"], *_failed("fetch_articles", shards, found)]
        return {**stored.to_xcom(), "fetched": fetched.to_xcom(), "failed_shards": failed}

    @task
    def detect_changes(stored: dict[str, object]) -> dict[str, object]:
        from monitor import pipeline
        from monitor.config import load_config
        from monitor.records import StoreResult

        ids = StoreResult.from_xcom(stored).article_ids
        return pipeline.detect_changes(load_config(), _run_date(), ids).to_xcom()

    @task
    def send_alerts(
        collected: dict[str, Any], stored: dict[str, Any], detected: dict[str, object]
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
            FetchStageResult.from_xcom(stored["fetched"]),
            StoreResult.from_xcom(stored),
            DetectResult.from_xcom(detected),
            failed_shards=stored["failed_shards"],
        )
        return summary.as_dict()

    # Called at parse time, a task takes XComArgs where its body takes their values: the
    # task SDK's typing cannot say so, hence the ignores on the wiring lines only.
    shards = prepare()
    parts = collect_feeds.partial(shards=shards).expand(shard=shards)
    collected = collect_done(shards, parts)  # type: ignore[arg-type]
    fetched = fetch_articles.partial(shards=shards, collected=collected).expand(shard=shards)
    stored = store_articles(shards, collected, fetched)  # type: ignore[arg-type]
    detected = detect_changes(stored)  # type: ignore[arg-type]
    send_alerts(collected, stored, detected)  # type: ignore[arg-type]


chip_trade_monitor()
