"""Stories, `monitor explain` and `monitor dedup undo` on the fixture news site, run by
the real pipeline on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import DAY1, DAY2, write_config
from fixture_site import FixtureSite
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor import pipeline
from monitor.cli import app
from monitor.config import load_config

pytestmark = pytest.mark.integration


def _rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _setup(tmp_path: Path, site: FixtureSite, db_url: str) -> tuple[str, object]:
    path = write_config(tmp_path, site)
    cfg = load_config(path, env={"MONITOR_DATABASE_URL": db_url})
    pipeline.init(cfg)
    return str(path), cfg


def _invoke(args: list[str], db_url: str):
    return CliRunner().invoke(app, args, env={"MONITOR_DATABASE_URL": db_url})


def test_syndicated_copies_make_one_story_with_every_outlet(tmp_path, site, db_url):
    _path, cfg = _setup(tmp_path, site, db_url)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    pipeline.run_day(cfg, date.fromisoformat(DAY2))
    l3 = site.url("/articles/us-export-controls-ai-chips.html")
    story = _rows(
        db_url,
        "SELECT s.story_id, s.first_outlet, s.outlets, s.copies, s.canonical_url, s.relevant "
        "FROM v_stories s JOIN articles a ON a.story_id = s.story_id "
        f"WHERE a.canonical_url = '{l3}'",
    )
    (story_id, first, outlets, copies, canonical, relevant) = story[0]
    # L3 (Pacific Trade Ledger, 09:00) and its exact copy W5 (Harbor Times, 10:00).
    assert (first, json.loads(outlets), copies, canonical, bool(relevant)) == (
        "Pacific Trade Ledger",
        ["Pacific Trade Ledger", "Harbor Times"],
        2,
        l3,
        True,
    )
    # Every article has a story; a story per kept article; the seed copy joins the seed's.
    assert _rows(db_url, "SELECT COUNT(*) FROM articles WHERE story_id IS NULL") == [(0,)]
    seed_story = _rows(
        db_url,
        "SELECT s.seed_name, s.copies, s.outlets FROM v_stories s WHERE s.seed_name IS NOT NULL",
    )
    assert seed_story == [("000_efad23f37f6dd870.txt", 1, '["Island Business Daily"]')]
    assert _rows(db_url, "SELECT COUNT(*) FROM v_stories")[0][0] == 8  # 7 kept + the seed's


def test_explain_then_undo_and_it_stays_separate(tmp_path, site, db_url):
    path, cfg = _setup(tmp_path, site, db_url)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    w3 = site.url("/articles/partnership-talks-republished.html")
    (w3_id, seed_story) = _rows(
        db_url, f"SELECT id, story_id FROM articles WHERE canonical_url = '{w3}'"
    )[0]

    shown = _invoke(["explain", str(w3_id), "--config", path], db_url)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"article #{w3_id}: ")
    assert lines[4].startswith("  decision    merged, near_duplicate: near-duplicate of seed #1")
    assert "near-duplicate of seed #1 (similarity 0." in lines[4]
    assert lines[5].startswith("  matched     seed #1 000_efad23f37f6dd870.txt: ")
    assert "exact shingle Jaccard 0.7" in lines[6]
    assert any(line.startswith("  relevance   relevant, score ") for line in lines)
    # Which occurrences counted (per facet and term), which did not and why.
    assert (
        "  counted     taiwan 23: Taipei title 3, lead 4, body 2; Taiwan title 3, lead 4, "
        "body 3; Cheng Li-chiun body 1; TSMC body 3"
    ) in lines
    assert "  discounted  us_trade: 'US' in body (s18): boilerplate ('US dollars')" in lines
    assert "copy of seed 000_efad23f37f6dd870.txt" in shown.output

    # An exact copy has no article row: explained through its URL as a feed item.
    l2 = _rows(db_url, "SELECT link FROM entries WHERE link LIKE '%utm_source=ledger%'")[0][0]
    by_url = _invoke(["explain", l2, "--config", path], db_url)
    assert by_url.exit_code == 0
    assert "  decision    merged, canonical_url: same URL as article #1" in by_url.output

    undone = _invoke(["dedup", "undo", str(w3_id), "--config", path], db_url)
    assert undone.exit_code == 0, undone.output
    assert undone.output.startswith(f"article #{w3_id} separated from seed:1; now story #")
    after = _rows(
        db_url,
        f"SELECT dedup_rule, duplicate_of_seed, story_id FROM articles WHERE id = {w3_id}",
    )[0]
    assert after[:2] == ("separated", None) and after[2] != seed_story
    assert (w3,) in _rows(db_url, "SELECT url FROM v_articles")
    assert _rows(db_url, f"SELECT copies FROM stories WHERE id = {seed_story}") == [(0,)]
    again = _invoke(["dedup", "undo", str(w3_id), "--config", path], db_url)
    assert again.exit_code == 1 and "is not merged" in again.output

    # Later runs (and a rerun of init) leave the analyst's decision alone.
    pipeline.init(cfg)
    pipeline.run_day(cfg, date.fromisoformat(DAY2))
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    assert _rows(
        db_url, f"SELECT dedup_rule, duplicate_of_seed, story_id FROM articles WHERE id = {w3_id}"
    ) == [after]
    assert _rows(db_url, f"SELECT other_key FROM dedup_overrides WHERE article_id = {w3_id}") == [
        ("seed:1",)
    ]
    explained = _invoke(["explain", w3, "--config", path], db_url)
    assert "  decision    separated by an analyst from seed:1" in explained.output


def test_explain_and_undo_of_an_unknown_article_say_so(tmp_path, site):
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    path, _cfg = _setup(tmp_path, site, db_url)
    shown = _invoke(["explain", "999", "--config", path], db_url)
    assert (shown.exit_code, shown.output) == (1, "no article or feed item '999'\n")
    undone = _invoke(["dedup", "undo", "http://nowhere.example/", "--config", path], db_url)
    assert (undone.exit_code, undone.output) == (1, "no article 'http://nowhere.example/'\n")
