"""Every analyst query in sql/ runs on SQLite and PostgreSQL after a real pipeline day
and returns what it promises."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import DAY1, DAY2, ROOT, write_config
from sqlalchemy import create_engine, text

from monitor import pipeline
from monitor.config import load_config

pytestmark = pytest.mark.integration
SQL = sorted((ROOT / "sql").glob("*.sql"))


def test_every_sql_file_runs(tmp_path, site, db_url):
    cfg = load_config(write_config(tmp_path, site), env={"MONITOR_DATABASE_URL": db_url})
    pipeline.init(cfg)
    pipeline.run_day(cfg, date.fromisoformat(DAY1))
    pipeline.run_day(cfg, date.fromisoformat(DAY2))
    engine = create_engine(db_url)
    results: dict[str, list[tuple]] = {}
    try:
        with engine.connect() as conn:
            for path in SQL:
                rows = conn.execute(text(path.read_text(encoding="utf-8"))).all()
                results[path.name] = [tuple(r) for r in rows]
    finally:
        engine.dispose()
    assert set(results) == {p.name for p in SQL}
    mentions = {(str(r[0]), r[1]): r[2] for r in results["keyword_mentions_by_day.sql"]}
    assert mentions[("2026-11-03", "export controls")] >= 1
    assert mentions[("2026-11-02", "tariff")] >= 1
    assert any(r[5] == "000_efad23f37f6dd870.txt" for r in results["duplicates.sql"])
    health = {r[0]: (r[2], r[3]) for r in results["feed_health.sql"]}
    assert health["Dead feed"] == ("failed", 2) and health["Formosa Wire"] == ("ok", 0)
    assert results["pending_alerts.sql"] == []  # everything went to the outbox
    # One digest a day, each written to the outbox (no SMTP server, so no recipients).
    emails = [(r[2], r[3], r[4], r[7]) for r in results["alert_emails.sql"]]
    assert emails == [("digest", "sent", 1, None), ("digest", "sent", 1, None)]
    by_source = {(r[0], r[1]): r[2] for r in results["articles_by_source.sql"]}
    assert by_source[("2026-11-03", "Formosa Wire")] == 2
    assert by_source[("2026-11-02", "Formosa Wire")] == 1
    stories = {r[2]: r[4] for r in results["stories.sql"]}
    # L3 reached the monitor twice (its own feed and Harbor Times' syndicated copy).
    assert stories["Pacific Trade Ledger"] == 2
    # Five new stories, and the seed's story, which its republished copy joined.
    assert len(results["stories.sql"]) == 6
    assert [r[7] for r in results["stories.sql"] if r[7]] == ["000_efad23f37f6dd870.txt"]
