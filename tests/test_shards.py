"""Shards finish in any order, the result is the same: the two-day real-news scenario
(25 outlets) served from 25 hosts (127.0.0.2 …, one per outlet, so their pages spread
over all four host shards), run through the pipeline's stages with the feed and page
shards run 0, 1, 2, 3; then 3, 2, 1, 0; then all at once in threads with the host of
the deal's first report slowed down, so its shard finishes last. Each run starts from
an empty database; the kept articles, the story each article joined, what each copy
was a copy of, the alerts and the emails are the same in all three.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import _postgres_database
from eval_corpus import RealNewsItem
from multihost_site import FIRST, MultiHostSite
from realnews_site import DAY1, DAY2, build_site, feeds_of, scenario_items, write_scenario_config
from smtp_server import SmtpSink
from sqlalchemy import create_engine, text

from monitor import pipeline
from monitor.config import Config, load_config
from monitor.records import FetchStageResult

pytestmark = pytest.mark.integration

SHARDS = 4
T = TypeVar("T")


def _shard(multi: MultiHostSite, host: int) -> int:
    return zlib.crc32(multi.address(host).encode()) % SHARDS


def _syndicated(items: list[RealNewsItem], outlets: list[str]) -> list[RealNewsItem]:
    """Copies of three day-2 reports, each republished by an outlet whose host falls in
    another shard than the original's: the deal's first report at the same minute (the
    tie goes to the URL), word for word; two more an hour later, one with a credit line
    (a near copy)."""
    day2 = sorted(
        (i for i in items if i.scenario_day == 2 and i.on_topic), key=lambda i: i.published
    )
    deal = next(i for i in day2 if i.figures.get("us_tariff_taiwan") == (15.0, "%"))
    others = [i for i in day2 if i is not deal and i.language == "en"][:2]

    def shard(outlet: str) -> int:
        return zlib.crc32(f"127.0.0.{FIRST + outlets.index(outlet)}".encode()) % SHARDS

    copies = []
    for n, (original, later, credit) in enumerate(
        [(deal, 0, False), (others[0], 1, False), (others[1], 1, True)]
    ):
        by = next(o for o in outlets[n:] if shard(o) != shard(original.outlet))
        body = original.body + (f"\n\nFirst published by {original.outlet}." if credit else "")
        copies.append(
            replace(
                original,
                name=f"{original.name}-via-{n}",
                outlet=by,
                published=original.published + timedelta(hours=later),
                body=body,
            )
        )
    return copies


@pytest.fixture(scope="module")
def multihost(tmp_path_factory) -> Iterator[tuple[MultiHostSite, list[tuple[str, str]], int]]:
    """The scenario's site on one host per outlet, with syndicated copies across shards;
    the feeds (outlet, URL); the index of the host whose outlet reported the deal-day
    figure first."""
    items = scenario_items()
    outlets = feeds_of(items)
    names = [name for name, _path in outlets]
    items = sorted([*items, *_syndicated(items, names)], key=lambda i: (i.published, i.name))
    root = build_site(tmp_path_factory.mktemp("site"), items)
    first_report = min(
        (i for i in items if i.figures.get("us_tariff_taiwan") == (15.0, "%")),
        key=lambda i: (i.published, i.name),
    )
    slow = names.index(first_report.outlet)
    with MultiHostSite(root, len(outlets)) as multi:
        feeds = [(name, multi.sites[k].url(path)) for k, (name, path) in enumerate(outlets)]
        yield multi, feeds, slow


def _each(shards: Sequence[int], work: Callable[[int], T], together: bool) -> list[T]:
    """``work`` for every shard, one after another in the order given, or all at once in
    threads (results in the order the shards finished)."""
    if not together:
        return [work(k) for k in shards]
    with ThreadPoolExecutor(len(shards)) as pool:
        return [f.result() for f in as_completed([pool.submit(work, k) for k in shards])]


def _run_days(cfg: Config, shards: Sequence[int], together: bool) -> None:
    """Both scenario days through the stages the DAG runs, shards in the given order."""
    pipeline.init(cfg)
    for day in (DAY1, DAY2):
        parts = _each(shards, lambda k, d=day: pipeline.collect_feeds(cfg, d, k, SHARDS), together)
        collected = pipeline.collect_done(cfg, day, parts)
        fetched = FetchStageResult.merge(
            _each(
                shards,
                lambda k, d=day, ids=collected.entry_ids: pipeline.fetch_articles(
                    cfg, ids, d, k, SHARDS
                ),
                together,
            )
        )
        stored = pipeline.store_articles(cfg, day, fetched.entry_ids)
        detected = pipeline.detect_changes(cfg, day, stored.article_ids)
        pipeline.send_and_report(
            cfg, day, collected, fetched, stored, detected, raise_on_delivery_error=False
        )


def _outcome(db_url: str, smtp: SmtpSink) -> dict[str, Any]:
    """What a reader sees, with no row ids: kept articles, stories as sets of article
    URLs, what each copy copies, alerts, and the emails."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            kept = [r[0] for r in conn.execute(text("SELECT url FROM v_articles ORDER BY url"))]
            articles = conn.execute(
                text(
                    "SELECT a.canonical_url, a.story_id, o.canonical_url, a.duplicate_of_seed, "
                    "a.relevant FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of"
                )
            ).all()
            alerts = conn.execute(
                text(
                    "SELECT run_date, rule, keyword, old_value, new_value, status, summary, "
                    "article_url, old_article_url, day, sentence, old_sentence, note "
                    "FROM v_alerts"
                )
            ).all()
    finally:
        engine.dispose()
    stories: dict[object, list[str]] = {}
    for url, story, _copy_of, _seed, _relevant in articles:
        stories.setdefault(story, []).append(str(url))
    mail = []
    for m in smtp.messages:
        body = m.message.get_body(("plain",))
        mail.append((str(m.message["Subject"]), body.get_content() if body else ""))
    return {
        "kept": kept,
        "stories": sorted(sorted(urls) for urls in stories.values()),
        "copies": sorted(
            (str(u), str(o), str(seed), bool(rel)) for u, _s, o, seed, rel in articles
        ),
        "alerts": sorted(tuple(str(v) for v in row) for row in alerts),
        "mail": mail,
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_shard_order_changes_nothing(multihost, backend: str, tmp_path: Path) -> None:
    multi, feeds, slow = multihost
    assert {_shard(multi, k) for k in range(len(feeds))} == set(range(SHARDS))
    outcomes = []
    orders = [("0..3", [0, 1, 2, 3], False), ("3..0", [3, 2, 1, 0], False)]
    orders.append(("together, slow host", list(range(SHARDS)), True))
    for name, shards, together in orders:
        work = tmp_path / name.replace(" ", "_").replace(",", "")
        work.mkdir()
        databases = _postgres_database() if backend == "postgresql" else None
        db_url = next(databases) if databases else f"sqlite:///{work / 'monitor.db'}"
        multi.sites[slow].delay = 0.5 if together else 0.0
        try:
            with SmtpSink() as smtp:
                config = write_scenario_config(
                    work, multi.sites[0], feeds, extra=f"airflow:\n  shards: {SHARDS}\n"
                )
                env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_SMTP_URL": smtp.url}
                _run_days(load_config(config, env=env), shards, together)
                outcomes.append((name, _outcome(db_url, smtp)))
        finally:
            multi.sites[slow].delay = 0.0
            if databases:
                next(databases, None)
    first_name, first = outcomes[0]
    assert first["kept"] and first["alerts"] and first["mail"]
    assert any(len(urls) > 1 for urls in first["stories"])
    assert any("20% → 15%" in subject for subject, _body in first["mail"])
    for name, outcome in outcomes[1:]:
        for part in first:
            assert outcome[part] == first[part], f"{part}: {name} differs from {first_name}"
