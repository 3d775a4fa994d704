"""Near-duplicate detection with signatures persisted in the database (SQLite and
PostgreSQL): the labelled pairs of tests/eval/pairs, and each dedup rule end to end
through the store stage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from eval_corpus import pairs, precision_recall
from sqlalchemy import create_engine, text

from monitor import dedup, pipeline
from monitor.config import Config, load_config
from monitor.records import FeedEntry, FeedResult
from monitor.storage import DedupStore, Store

PAIRS = pairs()
# Measured on this set with the shipped settings (python bench/eval_dedup.py).
PAIR_PRECISION_FLOOR = 1.0
PAIR_RECALL_FLOOR = 1.0
RUN = date(2026, 11, 3)
NOON = datetime(2026, 11, 3, 12, tzinfo=UTC)


def _config(tmp_path: Path, db_url: str, extra: str = "") -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(f"data_dir: {tmp_path / 'var'}\nfeeds: []\n{extra}", encoding="utf-8")
    return load_config(path, env={"MONITOR_DATABASE_URL": db_url})


def _fp(cfg: Config, body: str) -> dedup.Fingerprint:
    return dedup.fingerprint(
        body, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
    )


def test_the_pair_set_covers_every_kind():
    kinds = {p.kind.removesuffix("-zh") for p in PAIRS}
    assert len(PAIRS) >= 40
    assert {"syndicated", "rewrite", "update", "same-event"} <= kinds
    assert sum(p.label == "distinct" for p in PAIRS) >= 15


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_labelled_pair(pair, tmp_path):
    assert pair.label in ("duplicate", "distinct")
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'pairs.db'}")
    store = Store(cfg.db_url)
    try:
        store.migrate()
        dstore = DedupStore(store, dedup.BandLayout.for_config(cfg.dedup))
        dstore.add_signature("article", 1, NOON, _fp(cfg, pair.a))
        fp = _fp(cfg, pair.b)
        match = dedup.best_match(fp, dstore.candidates(fp, None), cfg.dedup)
    finally:
        store.close()
    assert (match is not None) == (pair.label == "duplicate"), match


def test_pair_precision_and_recall_floors(db_url, tmp_path):
    """All first documents in one persisted index; each second document must find its
    own first document and nothing else."""
    cfg = _config(tmp_path, db_url)
    store = Store(db_url)
    try:
        store.migrate()
        dstore = DedupStore(store, dedup.BandLayout.for_config(cfg.dedup))
        ids: dict[str, int] = {}
        for pair in PAIRS:
            if pair.a not in ids:
                ids[pair.a] = len(ids) + 1
                dstore.add_signature("article", ids[pair.a], NOON, _fp(cfg, pair.a))
        predicted = []
        for pair in PAIRS:
            fp = _fp(cfg, pair.b)
            own = [c for c in dstore.candidates(fp, None) if c.id == ids[pair.a]]
            predicted.append(dedup.best_match(fp, own, cfg.dedup) is not None)
    finally:
        store.close()
    precision, recall = precision_recall(predicted, [p.label == "duplicate" for p in PAIRS])
    assert precision >= PAIR_PRECISION_FLOOR and recall >= PAIR_RECALL_FLOOR


def test_band_keys_persist_and_a_new_process_finds_copies_without_rebuilding(db_url, tmp_path):
    cfg = _config(tmp_path, db_url)
    layout = dedup.BandLayout.for_config(cfg.dedup)
    original = PAIRS[0].a
    store = Store(db_url)
    try:
        store.migrate()
        DedupStore(store, layout).add_signature("article", 7, NOON, _fp(cfg, original))
    finally:
        store.close()
    again = Store(db_url)  # a later run: nothing in memory, only the database
    try:
        dstore = DedupStore(again, layout)
        fp = _fp(cfg, original + "\nThis story was provided by a wire service.")
        found = dstore.candidates(fp, None)
        assert [(c.kind, c.id) for c in found] == [("article", 7)]
        assert again.count("lsh_bands") == layout.bands
        # The article-window: an article published before `since` is not compared.
        assert dstore.candidates(fp, NOON + timedelta(days=1)) == []
    finally:
        again.close()


def test_changing_the_lsh_settings_rebands_the_stored_signatures(db_url, tmp_path):
    cfg = _config(tmp_path, db_url)
    body = PAIRS[0].a
    store = Store(db_url)
    try:
        store.migrate()
        DedupStore(store, dedup.BandLayout.for_config(cfg.dedup)).add_signature(
            "article", 3, NOON, _fp(cfg, body)
        )
        stricter = _config(tmp_path, db_url, "dedup:\n  candidate_threshold: 0.4\n")
        layout = dedup.BandLayout.for_config(stricter.dedup)
        dstore = DedupStore(store, layout)
        assert dstore.candidates(_fp(stricter, body), None) == []  # old keys are not read
        assert dstore.relayout() == 1
        assert [c.id for c in dstore.candidates(_fp(stricter, body), None)] == [3]
        assert store.count("lsh_bands") == layout.bands
        assert dstore.relayout() == 0
    finally:
        store.close()


# -- the rules, through the store stage ---------------------------------------------


def _ingest(
    store: Store,
    *,
    feed: str,
    guid: str,
    url: str,
    title: str,
    body: str,
    source: str,
    published: datetime,
    text_source: str = "page",
) -> int:
    entry = FeedEntry(feed, guid, url, title, body[:200], published)
    result = FeedResult(feed, f"http://127.0.0.1/{feed}.xml", "ok", (entry,))
    (entry_id,) = store.record_feed(result, RUN, "en", [entry]).entry_ids
    store.save_extraction(
        entry_id,
        page_status="ok",
        page_url=url,
        canonical_url=url,
        page_title=title,
        text=body,
        text_source=text_source,
        source=source,
        page_published_at=published,
    )
    return entry_id


def _rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def setup(tmp_path, db_url):
    cfg = _config(tmp_path, db_url)
    pipeline.init(cfg)
    store = Store(db_url)
    yield cfg, store
    store.close()


ORIGINAL = next(p for p in PAIRS if p.name == "syn01_en01_wire")
REWRITE = next(p for p in PAIRS if p.name == "rw01_en01_new_intro")
OTHER_OUTLET = next(p for p in PAIRS if p.name == "ds14_tariff_deal_other_outlet")


def test_each_rule_decides_and_explains(setup, db_url):
    cfg, store = setup
    t0 = NOON - timedelta(hours=6)
    common = {"title": ORIGINAL.a_title, "source": "Formosa Wire"}
    _ingest(
        store,
        feed="wire",
        guid="urn:wire:1001",
        url="http://a.example/1",
        body=ORIGINAL.a,
        published=t0,
        **common,
    )
    # Another feed carries the same item under the same GUID (and a tracking URL).
    _ingest(
        store,
        feed="aggregator",
        guid="urn:wire:1001",
        url="http://agg.example/x?id=9",
        body=ORIGINAL.a + "\nShared via Aggregator.",
        published=t0 + timedelta(hours=1),
        title=ORIGINAL.a_title,
        source="Aggregator",
    )
    # A syndicated copy with its own URL and identical text.
    _ingest(
        store,
        feed="harbor",
        guid="h-1",
        url="http://harbor.example/1",
        body=ORIGINAL.a,
        published=t0 + timedelta(hours=2),
        title="Copy",
        source="Harbor Times",
    )
    # A rewrite with a new intro; a different story on the same event.
    _ingest(
        store,
        feed="ledger",
        guid="l-1",
        url="http://ledger.example/rw",
        body=REWRITE.b,
        published=t0 + timedelta(hours=3),
        title=REWRITE.b_title,
        source="Ledger",
    )
    _ingest(
        store,
        feed="ledger",
        guid="l-2",
        url="http://ledger.example/other",
        body=OTHER_OUTLET.b,
        published=t0 + timedelta(hours=4),
        title=OTHER_OUTLET.b_title,
        source="Ledger",
    )
    # The publisher edits the slug and a sentence: same title, same outlet, two days on.
    _ingest(
        store,
        feed="wire",
        guid="urn:wire:1002",
        url="http://a.example/1-edited",
        body="Officials said the deal was signed. " * 3,
        published=t0 + timedelta(days=2),
        **common,
    )
    stats = pipeline.store_articles(cfg, RUN)
    assert (stats.new_articles, stats.duplicates, stats.near_duplicates) == (2, 4, 2)

    entries = _rows(db_url, "SELECT link, state, decision FROM entries ORDER BY id")
    assert [(link, state) for link, state, _ in entries] == [
        ("http://a.example/1", "stored"),
        ("http://agg.example/x?id=9", "duplicate"),
        ("http://harbor.example/1", "duplicate"),
        ("http://ledger.example/rw", "stored"),
        ("http://ledger.example/other", "stored"),
        ("http://a.example/1-edited", "stored"),
    ]
    assert entries[1][2] == "duplicate (guid): same feed GUID as article #1"
    assert entries[2][2] == "duplicate (content_hash): same text as article #1"
    articles = _rows(
        db_url,
        "SELECT id, dedup_rule, dedup_match, duplicate_of, story_id FROM articles ORDER BY id",
    )
    story = articles[0][4]
    assert articles == [
        (1, "kept", None, None, story),
        (2, "near_duplicate", "article:1", 1, story),
        (3, "kept", None, None, articles[2][4]),
        (4, "title", "article:1", 1, story),
    ]
    assert articles[2][4] != story
    rewrite = _rows(db_url, "SELECT similarity, decision FROM articles WHERE id = 2")[0]
    assert 0.4 <= rewrite[0] < 0.9
    assert rewrite[1].startswith("duplicate (near_duplicate): near-duplicate of article #1 (")


def test_same_url_with_changed_text_is_a_new_version(setup, db_url):
    cfg, store = setup
    update = next(p for p in PAIRS if p.name == "up01_en01")
    _ingest(
        store,
        feed="wire",
        guid="w-1",
        url="http://a.example/deal",
        title=update.a_title,
        body=update.a,
        source="Formosa Wire",
        published=NOON,
    )
    first = pipeline.store_articles(cfg, RUN)
    pipeline.detect_changes(cfg, RUN, first.article_ids)  # the story is counted once
    # The same page, fetched again through another feed item, now with updated text.
    _ingest(
        store,
        feed="ledger",
        guid="l-9",
        url="http://a.example/deal",
        title=update.b_title,
        body=update.b,
        source="Formosa Wire",
        published=NOON + timedelta(hours=5),
    )
    second = pipeline.store_articles(cfg, RUN)
    assert (first.new_articles, second.new_articles, second.updated) == (1, 0, 1)
    assert second.article_ids == () and second.updated_article_ids == first.article_ids
    assert _rows(db_url, "SELECT COUNT(*), MAX(version) FROM articles") == [(1, 2)]
    versions = _rows(db_url, "SELECT version, text, diff FROM article_versions")
    assert len(versions) == 1 and versions[0][:2] == (1, update.a)
    assert "- The agreement, reached after a fourth round of talks" in versions[0][2]
    assert "+ The agreement, reached after a fifth round of talks" in versions[0][2]
    assert "+ Update: Taiwan's cabinet said on Wednesday" in versions[0][2]
    assert _rows(db_url, "SELECT body FROM v_articles") == [(update.b,)]
    # The detect stage sees no new article, so no second alert for the same story.
    assert pipeline.detect_changes(cfg, RUN, second.article_ids).alerts == 0
    # The same text again is a plain duplicate, not a third version.
    _ingest(
        store,
        feed="agg",
        guid="a-9",
        url="http://a.example/deal",
        title=update.b_title,
        body=update.b,
        source="Formosa Wire",
        published=NOON + timedelta(hours=6),
    )
    third = pipeline.store_articles(cfg, RUN)
    assert (third.updated, third.duplicates) == (0, 1)
