"""Writes in batches (monitor.pipeline with Store.batch), on SQLite and PostgreSQL: the
fetch and store stages commit about once per fifty pages, a page the database refuses
fails alone while the rest of its batch is stored, and a run killed in the middle of a
batch leaves nothing of it, so the rerun stores every page once.

The site is the generated one of tests/reliability_kit.py, with eighty-odd pages in
the run's window (two batches).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixture_site import FixtureSite
from reliability_kit import (
    DAY1,
    build_site,
    compare,
    monitor_env,
    run_and_kill_at,
    run_once,
    snapshot,
    write_config,
)
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from monitor import pipeline
from monitor.config import Config, load_config

REFUSE = "REFUSE-ME"


@pytest.fixture(scope="module")
def generated_site(tmp_path_factory) -> Iterator[FixtureSite]:
    root = tmp_path_factory.mktemp("batches") / "site"
    build_site(root, days=(DAY1,), per_day=120)
    # One page whose title the database will refuse (see _refuse_page_titles).
    page = sorted((root / "articles").glob("*.html"))[5]
    html = page.read_text(encoding="utf-8")
    headline = html.split("<h1>", 1)[1].split("</h1>", 1)[0]
    page.write_text(html.replace(headline, f"{REFUSE} {headline}"), encoding="utf-8")
    with FixtureSite(root=root) as site:
        yield site


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _config(tmp_path: Path, site: FixtureSite, db_url: str) -> Config:
    path = write_config(tmp_path, site.base_url)
    # Batches cut by size only: how many a time limit cuts depends on the machine's speed.
    path.write_text(path.read_text().replace("http:\n", "http:\n  write_batch_seconds: 600\n"))
    cfg = load_config(path, env={"MONITOR_DATABASE_URL": db_url})
    pipeline.init(cfg)
    return cfg


def _refuse_page_titles(db_url: str) -> None:
    """Make the database refuse an entry whose page title holds REFUSE: a stand-in for
    any value a database may turn down that no cleaning foresaw."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE UPDATE ON entries "
                        f"WHEN NEW.page_title LIKE '%{REFUSE}%' "
                        "BEGIN SELECT RAISE(ABORT, 'page title refused'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "ALTER TABLE entries ADD CONSTRAINT refuse "
                        f"CHECK (page_title NOT LIKE '%{REFUSE}%')"
                    )
                )
    finally:
        engine.dispose()


class _Commits:
    """Counts the transactions every engine of this process commits."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> _Commits:
        event.listen(Engine, "commit", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "commit", self._seen)

    def _seen(self, _connection: object) -> None:
        self.count += 1


def test_fetch_and_store_commit_at_most_once_per_ten_pages(generated_site, tmp_path, db_url):
    """A user-noticeable load on the database: the fetch and store stages of a run of
    eighty-odd pages commit a handful of times, not once (or fifteen times) per page."""
    cfg = _config(tmp_path, generated_site, db_url)
    collected = pipeline.collect_feeds(cfg, DAY1)
    with _Commits() as commits:
        fetched = pipeline.fetch_articles(cfg, collected.entry_ids, DAY1)
        stored = pipeline.store_articles(cfg, DAY1, fetched.entry_ids)
    assert fetched.pages_ok >= 75
    assert stored.new_articles + stored.duplicates + stored.off_topic >= 75
    assert commits.count / fetched.pages_ok <= 0.1, (commits.count, fetched.pages_ok)
    # Every page fetched is archived once, in the batch that saved it.
    archived = _rows(db_url, "SELECT COUNT(*), COUNT(DISTINCT final_url) FROM page_archive")
    assert archived == [(fetched.pages_ok, fetched.pages_ok)]


def test_a_page_refused_in_a_batch_fails_alone(generated_site, tmp_path, db_url):
    cfg = _config(tmp_path, generated_site, db_url)
    _refuse_page_titles(db_url)
    collected = pipeline.collect_feeds(cfg, DAY1)
    fetched = pipeline.fetch_articles(cfg, collected.entry_ids, DAY1)

    assert len(fetched.failures) == 1
    assert fetched.failures[0].error.startswith("page http")
    assert "could not be stored" in fetched.failures[0].error
    failed = _rows(db_url, "SELECT link, decision FROM entries WHERE state = 'failed'")
    assert len(failed) == 1 and str(failed[0][0]).endswith(".html")
    assert "could not be stored" in str(failed[0][1])
    # The rest of its batch (the run's pages fit in two batches) is extracted.
    states = dict(_rows(db_url, "SELECT state, COUNT(*) FROM entries GROUP BY state"))
    assert set(states) <= {"extracted", "duplicate", "failed"}
    assert states["failed"] == 1
    assert states["extracted"] == len(fetched.entry_ids) >= 75
    # The refused page is still archived: the archive holds what was fetched.
    assert _rows(db_url, "SELECT COUNT(*) FROM page_archive") == [(fetched.pages_ok,)]

    stored = pipeline.store_articles(cfg, DAY1, fetched.entry_ids)
    assert stored.failures == ()
    assert stored.new_articles + stored.duplicates + stored.off_topic == states["extracted"]


@pytest.mark.reliability
@pytest.mark.parametrize("point", ["fetch:batch", "store:commit"])
def test_killed_mid_batch_the_rerun_stores_every_page_once(point, generated_site, tmp_path, db_url):
    reference_dir, run_dir = tmp_path / "reference", tmp_path / "run"
    reference_db = f"sqlite:///{reference_dir / 'monitor.db'}"
    for directory in (reference_dir, run_dir):
        directory.mkdir()
    reference_env = monitor_env(write_config(reference_dir, generated_site.base_url), reference_db)
    assert run_once(reference_env, DAY1, tmp_path / "logs").returncode == 0
    reference = snapshot(reference_db, reference_dir / "var" / "outbox")

    env = monitor_env(write_config(run_dir, generated_site.base_url), db_url)
    killed = run_and_kill_at(env, DAY1, point, tmp_path / "logs")
    assert killed.paused, killed.stderr[-2000:]
    # Killed inside the batch's transaction: nothing of the batch stays.
    if point == "fetch:batch":
        assert _rows(db_url, "SELECT COUNT(*) FROM page_archive") == [(0,)]
        assert _rows(db_url, "SELECT COUNT(*) FROM entries WHERE state <> 'pending'") == [(0,)]
    else:
        assert _rows(db_url, "SELECT COUNT(*) FROM articles") == [(0,)]
        assert _rows(db_url, "SELECT COUNT(*) FROM entries WHERE state = 'stored'") == [(0,)]

    rerun = run_once(env, DAY1, tmp_path / "logs")
    assert rerun.returncode == 0, rerun.stderr
    verdict = compare(reference, snapshot(db_url, run_dir / "var" / "outbox"))
    assert verdict.differences == ()
    assert (verdict.lost, verdict.duplicate_rows) == (0, 0)
    # Every page archived exactly once, as by a run never interrupted.
    archived = _rows(db_url, "SELECT COUNT(*), COUNT(DISTINCT final_url) FROM page_archive")
    assert archived == _rows(
        reference_db, "SELECT COUNT(*), COUNT(DISTINCT final_url) FROM page_archive"
    )
    assert archived[0][0] == archived[0][1]
