"""The Airflow DAG: an integrity check (no import errors, retries everywhere) and a full
``dag.test()`` run of two days against the fixture site, a real SMTP server and SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT, write_config
from sqlalchemy import create_engine, text

DAGS = ROOT / "dags"
DAG_ID = "chip_trade_monitor"
STAGES = [
    "prepare",
    "collect_feeds",
    "collect_done",
    "fetch_articles",
    "store_articles",
    "detect_changes",
    "send_alerts",
]


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_imports_cleanly_and_retries_every_task(bag):
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    assert sorted(t.task_id for t in dag.tasks) == sorted(STAGES)
    assert all(t.retries >= 1 for t in dag.tasks), {t.task_id: t.retries for t in dag.tasks}
    assert {"monitor", "chip-trade"} <= set(dag.tags)
    assert dag.max_active_runs == 1
    # The stages run in pipeline order; feeds and pages are fetched by mapped shards,
    # page fetches in the monitor_http pool, and the steps after them run once all are
    # done, whether every shard succeeded or not.
    order = [t.task_id for t in dag.topological_sort()]
    assert order == STAGES
    tasks = {t.task_id: t for t in dag.tasks}
    assert {t for t in tasks if tasks[t].is_mapped} == {
        "collect_feeds",
        "fetch_articles",
    }
    assert tasks["fetch_articles"].pool == "monitor_http"
    assert tasks["collect_done"].trigger_rule == "all_done"
    assert tasks["store_articles"].trigger_rule == "all_done"


def test_dag_file_touches_nothing_at_import():
    source = (DAGS / "chip_trade_monitor.py").read_text(encoding="utf-8")
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "monitor" in line], top_level


@pytest.fixture(scope="module")
def airflow_db():
    from airflow.utils import db

    db.resetdb()
    from airflow.models.pool import Pool

    # The pool capping fetch tasks across workers (README: the Airflow deployment).
    Pool.create_or_update_pool("monitor_http", 2, "page fetches at once", include_deferred=False)
    yield


@pytest.mark.integration
def test_dag_test_runs_two_days(airflow_db, bag, tmp_path: Path, site, smtp, monkeypatch):
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, site)))
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    monkeypatch.setenv("MONITOR_SMTP_URL", smtp.url)
    dag = bag.dags[DAG_ID]

    run1 = dag.test(logical_date=datetime(2026, 11, 2, tzinfo=UTC))
    assert run1.state == "success"
    run2 = dag.test(logical_date=datetime(2026, 11, 3, tzinfo=UTC))
    assert run2.state == "success"

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            urls = [r[0] for r in conn.execute(text("SELECT url FROM v_articles ORDER BY id"))]
            alerts = conn.execute(
                text("SELECT run_date, rule, keyword, status FROM v_alerts ORDER BY id")
            ).all()
            runs = conn.execute(text("SELECT run_date FROM runs ORDER BY id")).all()
    finally:
        engine.dispose()
    assert len(urls) == 5
    assert site.url("/articles/tariff-deal-15-percent.html") in urls
    assert [(str(d), rule, kw, st) for d, rule, kw, st in alerts][0] == (
        "2026-11-02",
        "figure_change",
        "tariff",
        "sent",
    )
    assert sorted(kw for _, rule, kw, _ in alerts if rule == "first_mention") == [
        "CHIPS Act",
        "export controls",
    ]
    assert [str(r[0]) for r in runs] == ["2026-11-02", "2026-11-03"]
    assert len(smtp.messages) == 2


@pytest.mark.integration
def test_smtp_default_connection_carries_the_email(
    airflow_db, bag, tmp_path: Path, site, smtp, monkeypatch
):
    """Without MONITOR_SMTP_URL, send_alerts reads Airflow's smtp_default connection."""
    monkeypatch.setenv("MONITOR_CONFIG", str(write_config(tmp_path, site)))
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'monitor.db'}")
    monkeypatch.delenv("MONITOR_SMTP_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": smtp.host,
                "port": smtp.port,
                "extra": {"disable_tls": True, "disable_ssl": True},
            }
        ),
    )
    run = bag.dags[DAG_ID].test(logical_date=datetime(2026, 11, 2, tzinfo=UTC))
    assert run.state == "success"
    assert [m.message["Subject"] for m in smtp.messages] == [
        "[chip-trade] tariff 20% → 15% · 1 new story"
    ]
    assert not (tmp_path / "var" / "outbox").exists()


@pytest.mark.integration
def test_dag_run_finishes_what_a_killed_run_left(
    airflow_db, bag, tmp_path: Path, site, smtp, monkeypatch
):
    """An earlier attempt collected and fetched, then died: its ids are gone with its
    XCom, and the next DAG run of the day still stores, counts and sends all of it."""
    from monitor import pipeline
    from monitor.config import load_config

    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    config = write_config(tmp_path, site)
    monkeypatch.setenv("MONITOR_CONFIG", str(config))
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    monkeypatch.setenv("MONITOR_SMTP_URL", smtp.url)
    cfg = load_config(config)
    day = datetime(2026, 11, 2, tzinfo=UTC)
    pipeline.init(cfg)
    collected = pipeline.collect_feeds(cfg, day.date())
    pipeline.fetch_articles(cfg, collected.entry_ids, day.date())

    run = bag.dags[DAG_ID].test(logical_date=day)
    assert run.state == "success"
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            urls = [r[0] for r in conn.execute(text("SELECT url FROM v_articles"))]
            alerts = conn.execute(text("SELECT rule, keyword, status FROM v_alerts")).all()
            stats = json.loads(conn.execute(text("SELECT stats FROM runs")).scalar_one())
    finally:
        engine.dispose()
    assert urls == [site.url("/articles/tariff-deal-15-percent.html")]
    assert [tuple(a) for a in alerts] == [("figure_change", "tariff", "sent")]
    assert (stats["new_articles"], stats["resumed_entries"]) == (1, 5)
    assert len(smtp.messages) == 1


@pytest.mark.integration
def test_a_shard_failing_for_good_leaves_its_pages_to_the_next_run(
    tmp_path: Path, smtp, monkeypatch
):
    """The fixture site's feeds on four hosts, so each feed's pages fall in a page-fetch
    shard of their own. The shard of the ledger's host fails on every try (a fault
    injected into the task: ``dag.test()`` runs tasks in this process). It ends failed
    after its retries; store_articles still runs and stores the other shards' articles;
    the run summary names the shard; its entries stay pending, and the next day's run
    fetches and stores them."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool
    from airflow.utils import db
    from fixture_site import DEFAULT_ROOT
    from multihost_site import MultiHostSite

    from monitor import pipeline

    # Retries a second apart: the delay is read when the DAG is parsed, so this test
    # parses it again, on a metadata database of its own (no second version of the DAG
    # beside the other tests' runs).
    monkeypatch.setenv("MONITOR_RETRY_DELAY_SECONDS", "1")
    db.resetdb()
    Pool.create_or_update_pool("monitor_http", 2, "page fetches at once", include_deferred=False)
    dag = DagBag(dag_folder=str(DAGS)).dags[DAG_ID]
    shards = 4
    feeds = ["/feeds/wire.xml", "/feeds/ledger.atom", "/feeds/zh.xml", "/feeds/broken.xml"]
    names = ["Formosa Wire", "Pacific Trade Ledger", "Taiwan Tech Daily (zh)", "Broken feed"]
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    real_fetch = pipeline.fetch_articles
    tries: list[int] = []
    with MultiHostSite(DEFAULT_ROOT, len(feeds)) as multi:
        ledger = multi.sites[1]
        failing = pipeline.shard_of(ledger.base_url, shards)
        assert sorted(pipeline.shard_of(s.base_url, shards) for s in multi.sites) == [0, 1, 2, 3]

        def fetch_articles(cfg, entry_ids=None, run_date=None, shard=None, shards=1):
            if shard == failing:
                tries.append(shard)
                raise ConnectionResetError("the shard's worker lost its connection")
            return real_fetch(cfg, entry_ids, run_date, shard, shards)

        config = write_config(
            tmp_path,
            multi.sites[0],
            feeds=[(n, s.url(f)) for n, s, f in zip(names, multi.sites, feeds, strict=True)],
            extra=f"airflow:\n  shards: {shards}\n",
        )
        monkeypatch.setenv("MONITOR_CONFIG", str(config))
        monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
        monkeypatch.setenv("MONITOR_SMTP_URL", smtp.url)

        monkeypatch.setattr(pipeline, "fetch_articles", fetch_articles)
        run1 = dag.test(logical_date=datetime(2026, 11, 2, tzinfo=UTC))
        # Only leaves decide a run's state: the red shard is in the grid, the run ends
        # with its email sent.
        assert run1.state == "success"
        states = {(ti.task_id, ti.map_index): ti for ti in run1.get_task_instances()}
        shard_ti = states[("fetch_articles", failing)]
        assert (shard_ti.state, shard_ti.try_number) == ("failed", 3)  # 1 try + 2 retries
        assert len(tries) == 3
        assert {k: ti.state for k, ti in states.items() if k != ("fetch_articles", failing)} == {
            k: "success" for k in states if k != ("fetch_articles", failing)
        }
        rows1 = _rows(db_url)
        assert rows1["articles"] == [multi.sites[0].url("/articles/tariff-deal-15-percent.html")]
        assert rows1["pending"] == [
            ledger.url("/articles/fed-holds-rates.html"),
            ledger.url("/articles/tariff-deal-15-percent.html")
            + "?utm_source=ledger&utm_medium=rss&fbclid=abc123#top",
        ]
        assert rows1["runs"][-1]["failed_shards"] == [f"fetch_articles[{failing}]"]
        assert rows1["alerts"] == [("2026-11-02", "figure_change", "tariff", "sent")]

        # The host's shard works again: the next run fetches and stores what it left.
        monkeypatch.setattr(pipeline, "fetch_articles", real_fetch)
        run2 = dag.test(logical_date=datetime(2026, 11, 3, tzinfo=UTC))
        assert run2.state == "success"
        assert {ti.state for ti in run2.get_task_instances()} == {"success"}
    rows2 = _rows(db_url)
    assert rows2["pending"] == []
    assert rows2["runs"][-1]["failed_shards"] == []
    assert rows2["runs"][-1]["resumed_entries"] == 2  # the ledger's two entries of day 1
    ledger_day1 = dict(rows2["ledger_day1"])
    assert ledger_day1 == {
        ledger.url("/articles/fed-holds-rates.html"): "stored",  # off-topic: not in v_articles
        ledger.url("/articles/tariff-deal-15-percent.html")
        + "?utm_source=ledger&utm_medium=rss&fbclid=abc123#top": "duplicate",
    }
    assert len(smtp.messages) == 2


def _rows(db_url: str) -> dict[str, list]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                "articles": [r[0] for r in conn.execute(text("SELECT url FROM v_articles"))],
                "pending": sorted(
                    r[0]
                    for r in conn.execute(text("SELECT link FROM entries WHERE state = 'pending'"))
                ),
                "runs": [
                    json.loads(r[0])
                    for r in conn.execute(text("SELECT stats FROM runs ORDER BY id"))
                ],
                "alerts": [
                    (str(d), rule, kw, st)
                    for d, rule, kw, st in conn.execute(
                        text("SELECT run_date, rule, keyword, status FROM v_alerts ORDER BY id")
                    )
                ],
                "ledger_day1": sorted(
                    (link, state)
                    for link, state in conn.execute(
                        text(
                            "SELECT e.link, e.state FROM entries e "
                            "JOIN feeds f ON f.id = e.feed_id "
                            "WHERE f.name = 'Pacific Trade Ledger' AND e.run_date = '2026-11-02'"
                        )
                    )
                ),
            }
    finally:
        engine.dispose()
