"""Resumable runs in one process, on SQLite and PostgreSQL: the stages take their work
from the database whatever ids they are handed, one transaction holds an entry's state
and its article, and the pipeline lock makes a second holder wait. (Killed processes,
outages and concurrent runs: tests/test_reliability.py.)"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import DAY1, write_config
from sqlalchemy import create_engine, text

from monitor import pipeline
from monitor.config import load_config
from monitor.records import DetectResult, Failure, FetchStageResult
from monitor.storage import Store

RUN = date.fromisoformat(DAY1)


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def cfg(tmp_path: Path, site, db_url):
    config = load_config(write_config(tmp_path, site), env={"MONITOR_DATABASE_URL": db_url})
    pipeline.init(config)
    return config


def test_a_run_after_one_stopped_at_collect_finishes_its_entries(cfg, db_url):
    collected = pipeline.collect_feeds(cfg, RUN)  # ... and the process died here
    assert collected.new_entries == 5

    summary = pipeline.run_day(cfg, RUN)
    assert summary.new_entries == 0  # the feeds hold nothing new: it is all leftovers
    assert (summary.new_articles, summary.duplicates, summary.off_topic) == (1, 2, 2)
    assert (summary.resumed_entries, summary.resumed_articles) == (5, 0)
    assert summary.alerts_raised == 1  # tariff 20% → 15%, not lost
    states = _rows(db_url, "SELECT state, COUNT(*) FROM entries GROUP BY state ORDER BY state")
    assert states == [("duplicate", 1), ("stored", 4)]


def test_stale_ids_are_only_hints(cfg, db_url):
    collected = pipeline.collect_feeds(cfg, RUN)
    # A retried task handed the ids of another attempt (or none) still does all the work.
    fetched = pipeline.fetch_articles(cfg, [], RUN)
    assert fetched.resumed == collected.new_entries == 5
    stored = pipeline.store_articles(cfg, RUN, [])
    assert stored.new_articles == 1 and stored.resumed == 5
    changes = pipeline.detect_changes(cfg, RUN, [])
    assert changes.alerts == 1 and changes.resumed == 1
    # Counted once: a second pass finds nothing owed.
    again = pipeline.detect_changes(cfg, RUN, None)
    assert again == DetectResult(alerts=0, alert_ids=(), resumed=0)
    owed = (
        "SELECT COUNT(*) FROM articles WHERE signals_at IS NULL AND relevant "
        "AND duplicate_of IS NULL AND duplicate_of_seed IS NULL"
    )
    assert _rows(db_url, owed) == [(0,)]


def test_an_entry_and_its_article_commit_together_or_not_at_all(cfg, db_url):
    pipeline.collect_feeds(cfg, RUN)
    pipeline.fetch_articles(cfg, None, RUN)
    store = Store(db_url)
    try:
        entry = store.extracted_entries()[0]
        with pytest.raises(RuntimeError), store.transaction():
            article_id = store.add_article(
                canonical_url="http://example.org/x",
                title=entry.title,
                source=entry.source,
                published_at=entry.published_at,
                run_date=RUN,
                language="en",
                text=entry.text,
                text_source=entry.text_source,
                content_hash="0" * 64,
                signature=None,
                relevance=1.0,
                relevant=True,
                duplicate_of=None,
                duplicate_of_seed=None,
                similarity=None,
                decision="kept",
            )
            store.close_entry(entry.id, "stored", "kept", article_id)
            raise RuntimeError("killed between the two writes")
    finally:
        store.close()
    assert _rows(db_url, "SELECT COUNT(*) FROM articles") == [(0,)]
    assert _rows(db_url, f"SELECT state FROM entries WHERE id = {entry.id}") == [("extracted",)]


def test_the_pipeline_lock_makes_a_second_holder_wait(cfg, db_url):
    first, second = Store(db_url), Store(db_url)
    waited: list[float] = []
    try:
        with first.exclusive():

            def take() -> None:
                started = time.monotonic()
                with second.exclusive():
                    waited.append(time.monotonic() - started)

            other = threading.Thread(target=take)
            other.start()
            time.sleep(0.5)
            assert waited == []  # still waiting
        other.join(timeout=10)
    finally:
        first.close()
        second.close()
    assert len(waited) == 1 and waited[0] >= 0.4


def test_a_failed_fetch_shard_is_listed_and_its_pages_wait_for_the_next_run(cfg, db_url):
    """Every fixture URL is on one host, so one shard holds them all: when that shard's
    task fails for good, the other shards and the steps after them still run, the
    summary names it, and the next run fetches what it left."""
    shards = cfg.airflow.shards
    site_shard = pipeline.shard_of(cfg.feeds[0].url, shards)
    collected = pipeline.collect_done(
        cfg, RUN, [pipeline.collect_feeds(cfg, RUN, k, shards) for k in range(shards)]
    )
    assert collected.new_entries == 5
    fetched = FetchStageResult.merge(
        [
            pipeline.fetch_articles(cfg, collected.entry_ids, RUN, k, shards)
            for k in range(shards)
            if k != site_shard
        ]
    )
    assert (fetched.pages_ok, fetched.entry_ids) == (0, ())
    stored = pipeline.store_articles(cfg, RUN, fetched.entry_ids)
    detected = pipeline.detect_changes(cfg, RUN, stored.article_ids)
    failed = [f"fetch_articles[{site_shard}]"]
    summary = pipeline.send_and_report(
        cfg, RUN, collected, fetched, stored, detected, failed_shards=failed
    )
    assert summary.failed_shards == failed and summary.new_articles == 0
    assert Failure(f"shard fetch_articles[{site_shard}]", "failed after its retries") in (
        summary.failures
    )
    assert _rows(db_url, "SELECT state, COUNT(*) FROM entries GROUP BY state") == [("pending", 5)]

    again = pipeline.run_day(cfg, RUN)
    assert (again.new_articles, again.resumed_entries, again.alerts_raised) == (1, 5, 1)
    assert again.failed_shards == []
