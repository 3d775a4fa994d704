"""End to end on real components: the fixture news site over HTTP, SQLite and
PostgreSQL, a real SMTP server. Two days of `monitor run`, then a rerun."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path

import pytest
from conftest import DAY1, DAY2, write_config
from fixture_site import FixtureSite
from smtp_server import SmtpSink
from sqlalchemy import create_engine, text

from monitor import pipeline
from monitor.config import load_config
from monitor.storage import Store

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, site: FixtureSite, db_url: str, smtp: SmtpSink | None):
    env = {"MONITOR_DATABASE_URL": db_url}
    if smtp is not None:
        env["MONITOR_SMTP_URL"] = smtp.url
    return load_config(write_config(tmp_path, site), env=env)


def _rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_two_days_then_rerun(tmp_path, site, db_url, smtp):
    cfg = _config(tmp_path, site, db_url, smtp)
    pipeline.init(cfg)

    day1 = pipeline.run_day(cfg, date.fromisoformat(DAY1))
    assert (day1.feeds_ok, day1.feeds_failed) == (3, 2)
    assert {f.feed for f in day1.failures} == {"Broken feed", "Dead feed"}
    assert day1.new_entries == 5  # W1 W2 W3 L1 L2; day-2 items wait for their day
    assert (day1.new_articles, day1.duplicates, day1.off_topic) == (1, 2, 2)
    assert (day1.alerts_raised, day1.alerts_sent) == (1, 1)

    assert _rows(db_url, "SELECT url, title, source FROM v_articles ORDER BY id") == [
        (
            site.url("/articles/tariff-deal-15-percent.html"),
            "Taiwan and US agree to cut chip-sector tariff in trade deal",
            "Formosa Wire",
        )
    ]
    # The republished seed is stored, marked as a copy of the seed, and kept out of view.
    copies = _rows(
        db_url,
        "SELECT a.canonical_url, s.name FROM articles a "
        "JOIN seed_documents s ON s.id = a.duplicate_of_seed",
    )
    assert copies == [
        (site.url("/articles/partnership-talks-republished.html"), "000_efad23f37f6dd870.txt")
    ]
    off_topic = _rows(db_url, "SELECT canonical_url FROM articles WHERE NOT relevant ORDER BY id")
    assert off_topic == [
        (site.url("/articles/typhoon-taipei.html"),),
        (site.url("/articles/fed-holds-rates.html"),),
    ]
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert "tariff 20% → 15%" in mail.message["Subject"]
    assert sorted(mail.rcpt_tos) == ["analyst@example.org", "desk@example.org"]
    body = mail.message.get_body(("plain",)).get_content()
    assert site.url("/articles/tariff-deal-15-percent.html") in body

    day2 = pipeline.run_day(cfg, date.fromisoformat(DAY2))
    assert day2.new_entries == 5  # W4 W5 W6 L3 Z1; L4 is dated the day after
    assert (day2.new_articles, day2.duplicates, day2.off_topic) == (4, 1, 0)
    assert day2.pages_failed == 1  # W6's page is gone: its feed summary stands in
    assert (day2.alerts_raised, day2.alerts_sent) == (2, 2)
    assert _rows(db_url, "SELECT url FROM v_articles ORDER BY published_at, id") == [
        (site.url(f"/articles/{slug}.html"),)
        for slug in (
            "tariff-deal-15-percent",
            "tsmc-arizona-second-fab",
            "zh-tsmc-tariff",
            "us-export-controls-ai-chips",
            "chips-act-grant-update",
        )
    ]
    alerts = _rows(db_url, "SELECT keyword, rule, status FROM v_alerts ORDER BY id")
    assert alerts == [
        ("tariff", "figure_change", "sent"),
        ("CHIPS Act", "first_mention", "sent")
        if alerts[1][0] == "CHIPS Act"
        else ("export controls", "first_mention", "sent"),
        ("export controls", "first_mention", "sent")
        if alerts[1][0] == "CHIPS Act"
        else ("CHIPS Act", "first_mention", "sent"),
    ]
    figure = _rows(db_url, "SELECT summary, status FROM v_alerts WHERE rule = 'figure_change'")
    assert figure[0][0].startswith("tariff 20% → 15%")
    assert len(smtp.messages) == 2
    subject2 = smtp.messages[1].message["Subject"]
    assert "first mention" in subject2 and "export controls" in subject2

    # A rerun of day 2 finds nothing new, raises nothing and sends nothing.
    again = pipeline.run_day(cfg, date.fromisoformat(DAY2))
    assert (again.new_entries, again.new_articles, again.alerts_raised) == (0, 0, 0)
    # Wire and zh feeds answer 304 now; the ledger holds an item dated after day 2, so its
    # validators were not kept and it is parsed again. Failing feeds are retried on a rerun.
    assert (again.feeds_ok, again.feeds_unchanged, again.feeds_failed) == (3, 2, 2)
    assert len(smtp.messages) == 2
    assert _rows(db_url, "SELECT COUNT(*) FROM articles")[0][0] == 8
    assert _rows(db_url, "SELECT COUNT(*) FROM alerts")[0][0] == 3


def test_without_smtp_the_email_goes_to_the_outbox(tmp_path, site):
    cfg = _config(tmp_path, site, f"sqlite:///{tmp_path / 'm.db'}", None)
    pipeline.init(cfg)
    summary = pipeline.run_day(cfg, date.fromisoformat(DAY1))
    assert summary.alerts_sent == 1 and summary.delivery is not None
    files = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert "tariff 20% → 15%" in message["Subject"]
    assert message["To"] == "analyst@example.org, desk@example.org"


def test_smtp_down_keeps_alerts_pending_for_the_next_run(tmp_path, site):
    dead = SmtpSink()  # never started: nothing listens on its port
    db = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = load_config(
        write_config(tmp_path, site),
        env={"MONITOR_DATABASE_URL": db, "MONITOR_SMTP_URL": dead.url},
    )
    pipeline.init(cfg)
    first = pipeline.run_day(cfg, date.fromisoformat(DAY1))
    assert first.alerts_sent == 0 and first.delivery_error
    assert _rows(db, "SELECT status, attempts FROM v_alerts") == [("pending", 1)]
    with SmtpSink(port=dead.port) as sink:
        later = pipeline.run_day(cfg, date.fromisoformat(DAY1))
        assert later.alerts_sent == 1
        assert len(sink.messages) == 1
    assert _rows(db, "SELECT status FROM v_alerts") == [("sent",)]


def test_init_twice_changes_nothing(tmp_path, site, db_url):
    cfg = _config(tmp_path, site, db_url, None)
    first = pipeline.init(cfg)
    second = pipeline.init(cfg)
    assert (first.seeds_total, first.seeds_loaded) == (1, 1)
    assert (second.seeds_total, second.seeds_loaded) == (1, 0)
    store = Store(db_url)
    try:
        assert store.count("seed_documents") == 1
        assert store.count("keyword_mentions") == 4  # tariff, TSMC, Arizona, investment
    finally:
        store.close()
