"""The raw page archive and `monitor reextract`: pages kept compressed with headers and
fetch time; extraction re-run over them with no network."""

from __future__ import annotations

import gzip
import json
from datetime import date

from conftest import DAY1, write_config
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor import pipeline
from monitor.cli import app
from monitor.config import load_config


def test_pages_are_archived_and_reextracted_offline(tmp_path, site):
    db = f"sqlite:///{tmp_path / 'm.db'}"
    config = write_config(tmp_path, site)
    cfg = load_config(config, env={"MONITOR_DATABASE_URL": db})
    pipeline.init(cfg)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            archived = conn.execute(
                text("SELECT final_url, headers, body, size, fetched_at FROM page_archive")
            ).all()
            url = site.url("/articles/tariff-deal-15-percent.html")
            row = next(r for r in archived if r.final_url == url)
            page = gzip.decompress(row.body)
            assert len(page) == row.size and b"<html" in page
            assert len(row.body) < row.size  # compressed
            assert json.loads(row.headers)["content-type"] == "text/html; charset=utf-8"
            assert row.fetched_at is not None
            # An "older extractor" stored worse text.
            conn.execute(
                text("UPDATE articles SET text = 'stale' WHERE canonical_url = :u"), {"u": url}
            )
            conn.execute(text("UPDATE entries SET text = 'stale' WHERE page_url = :u"), {"u": url})
        requests_before = len(site.requests)
        ran = CliRunner().invoke(
            app, ["reextract", "--config", str(config)], env={"MONITOR_DATABASE_URL": db}
        )
        assert ran.exit_code == 0, ran.output
        # W1 and L2 (the same story with tracking parameters) share one page.
        assert ran.output.strip() == (
            f"re-extracted {len(archived)} archived pages ({len(archived) + 1} entries); "
            "2 entries changed"
        )
        assert len(site.requests) == requests_before  # no network
        with engine.connect() as conn:
            fixed = conn.execute(
                text("SELECT text FROM articles WHERE canonical_url = :u"), {"u": url}
            ).scalar_one()
        assert fixed.startswith("Taiwan and US agree") or "15 percent tariff" in fixed
    finally:
        engine.dispose()


def test_reextract_backfills_dates_their_source_and_titles(tmp_path, site):
    """Articles stored before dates had a source (or by an extractor that kept the
    site's name in the title) get the page's date, its source and the clean headline."""
    db = f"sqlite:///{tmp_path / 'm.db'}"
    config = write_config(tmp_path, site)
    cfg = load_config(config, env={"MONITOR_DATABASE_URL": db})
    pipeline.init(cfg)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    url = site.url("/articles/tariff-deal-15-percent.html")
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE articles SET published_at = NULL, published_source = NULL, "
                    "published_date = NULL, "
                    "title = 'Taiwan and US agree to cut chip-sector tariff in trade deal "
                    "| Formosa Wire' WHERE canonical_url = :u"
                ),
                {"u": url},
            )
        pipeline.reextract(cfg)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT title, published_at, published_source, published_date "
                    "FROM articles WHERE canonical_url = :u"
                ),
                {"u": url},
            ).one()
    finally:
        engine.dispose()
    assert row.title == "Taiwan and US agree to cut chip-sector tariff in trade deal"
    assert (row.published_source, str(row.published_date)) == ("page", "2026-11-02")
    assert str(row.published_at).startswith("2026-11-02 03:00")  # 11:00 in Taipei, in UTC
