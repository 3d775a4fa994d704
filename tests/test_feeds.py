"""Tests for monitor.feeds and the feed side of the pipeline: formats, conditional GET,
hostile and oddly encoded feeds, back-off and feed-health alerts, the CLI table."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_config
from fault_server import FaultServer
from fixture_site import FixtureSite
from smtp_server import SmtpSink
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor import feeds, pipeline
from monitor.cli import app
from monitor.config import Config, FeedConfig, load_config
from monitor.records import Failure, FeedEntry

DAY1 = date(2026, 11, 2)


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def _rss(items: list[tuple[str, str, datetime]], *, encoding: str = "utf-8") -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
        for title, link, when in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f'<rss version="2.0"><channel><title>T</title><link>http://example.org/</link>'
        f"{body}</channel></rss>"
    )


def _config(tmp_path: Path, feeds_: list[tuple[str, str]], extra: str = "") -> Config:
    lines = [
        f"data_dir: {tmp_path / 'var'}",
        "http:",
        "  allow_private_addresses: true",
        "  timeout_seconds: 3",
        "  per_host_delay_seconds: 0",
        "  backoff_seconds: 0.01",
        "  retries: 0",
        "feeds:",
    ]
    for name, url in feeds_:
        lines += [f"  - name: {name}", f"    url: {url}"]
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    cfg = load_config(path, env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"})
    pipeline.init(cfg)
    return cfg


def _rows(cfg: Config, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(cfg.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


# --- conditional GET ------------------------------------------------------------------


def test_304_costs_nothing_and_is_unchanged(faults, tmp_path):
    faults.feeds["a.xml"] = (_rss([("One", "http://example.org/1", _at(3))]).encode(), "text/xml")
    cfg = _config(tmp_path, [("A", faults.url("/etag-feed/a.xml"))])
    first = pipeline.collect_feeds(cfg, DAY1)
    second = pipeline.collect_feeds(cfg, DAY1)
    assert (first.feeds_ok, first.feeds_unchanged, first.new_entries) == (1, 0, 1)
    assert (second.feeds_ok, second.feeds_unchanged, second.new_entries) == (1, 1, 0)
    assert "If-None-Match" not in faults.request_headers[0]
    assert faults.request_headers[1]["If-None-Match"].startswith('"')
    assert faults.request_headers[1]["If-Modified-Since"] == "Mon, 02 Nov 2026 08:00:00 GMT"
    assert _rows(cfg, "SELECT last_status, consecutive_failures FROM feeds") == [("unchanged", 0)]


def test_same_body_is_unchanged_when_the_server_ignores_validators(faults, tmp_path):
    faults.feeds["a.xml"] = (_rss([("One", "http://example.org/1", _at(3))]).encode(), "text/xml")
    cfg = _config(tmp_path, [("A", faults.url("/feed/a.xml"))])
    pipeline.collect_feeds(cfg, DAY1)
    again = pipeline.collect_feeds(cfg, DAY1)
    assert (again.feeds_unchanged, again.new_entries) == (1, 0)
    faults.feeds["a.xml"] = (
        _rss(
            [("One", "http://example.org/1", _at(3)), ("Two", "http://example.org/2", _at(4))]
        ).encode(),
        "text/xml",
    )
    changed = pipeline.collect_feeds(cfg, DAY1)
    assert (changed.feeds_unchanged, changed.new_entries) == (0, 1)


def test_a_feed_holding_future_items_is_read_in_full_next_time(faults, tmp_path):
    items = [
        ("Today", "http://example.org/1", _at(3)),
        ("Tomorrow", "http://example.org/2", _at(3, 3)),
    ]
    faults.feeds["a.xml"] = (_rss(items).encode(), "text/xml")
    cfg = _config(tmp_path, [("A", faults.url("/etag-feed/a.xml"))])
    day1 = pipeline.collect_feeds(cfg, DAY1)
    day2 = pipeline.collect_feeds(cfg, DAY1 + timedelta(days=1))
    assert (day1.new_entries, day2.new_entries) == (1, 1)
    assert "If-None-Match" not in faults.request_headers[1]


# --- formats and hostile or odd bodies ------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "label", "title"),
    [
        ("big5", "big5", "台積電赴美設廠"),
        ("gb18030", "gb2312", "台积电在美国设厂 镕"),  # 镕 is GBK, not GB2312
        ("shift_jis", "shift_jis", "台湾の半導体関税"),
        ("euc-kr", "euc-kr", "대만 반도체 관세"),
        ("utf-16", "utf-16", "台灣半導體關稅"),
    ],
)
def test_cjk_and_utf16_feeds_come_out_as_text(codec, label, title):
    body = _rss([(title, "http://example.org/zh/1", _at(3))], encoding=label).encode(codec)
    result = feeds.parse_feed(body, FeedConfig(name="zh", url="http://example.org/feed"))
    assert result.status == "ok"
    assert [e.title for e in result.entries] == [title]


def test_json_feed():
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
        b'[{"id": "1", "url": "https://example.org/j?utm_source=x", "title": "Chips",'
        b' "date_published": "2026-11-02T03:00:00Z"}]}'
    )
    result = feeds.parse_feed(json_feed, FeedConfig(name="j", url="https://example.org/f.json"))
    assert (result.status, result.format) == ("ok", "json11")
    assert result.entries == (
        FeedEntry("j", "1", "https://example.org/j?utm_source=x", "Chips", "", _at(3), None),
    )


def test_news_sitemap_is_a_source():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example.tw/a/1</loc>
    <news:news><news:publication><news:name>Example</news:name>
      <news:language>zh-tw</news:language></news:publication>
      <news:publication_date>2026-11-02T03:00:00+00:00</news:publication_date>
      <news:title>Chip tariffs</news:title></news:news></url>
  <url><loc>https://news.example.tw/about</loc><lastmod>2026-10-01</lastmod></url>
</urlset>"""
    feed = FeedConfig(name="s", url="https://news.example.tw/sitemap.xml", kind="sitemap")
    result = feeds.parse_sitemap(body, feed)
    assert (result.status, result.format) == ("ok", "news-sitemap")
    assert result.entries == (
        FeedEntry(
            "s",
            "https://news.example.tw/a/1",
            "https://news.example.tw/a/1",
            "Chip tariffs",
            "",
            _at(3),
            "zh-tw",
        ),
        FeedEntry(
            "s",
            "https://news.example.tw/about",
            "https://news.example.tw/about",
            "",
            "",
            datetime(2026, 10, 1, tzinfo=UTC),
            None,
        ),
    )
    assert feeds.parse_sitemap(b"<rss/>", feed).status == "failed"


def test_google_news_links_become_the_publishers_url():
    publisher = "https://focustaiwan.tw/business/202611020001"
    raw = b"\x08\x13\x22" + bytes([len(publisher)]) + publisher.encode() + b"\xd2\x01\x00"
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    body = _rss(
        [("TSMC - Focus Taiwan", f"https://news.google.com/rss/articles/{token}?oc=5", _at(3))]
    ).encode()
    result = feeds.parse_feed(body, FeedConfig(name="g", url="https://news.google.com/rss/x"))
    assert [e.link for e in result.entries] == [publisher]


# --- feed health ----------------------------------------------------------------------


def test_failing_feed_backs_off_then_alerts_once_and_recovers(faults, tmp_path):
    cfg = _config(tmp_path, [("Flaky", faults.url("/feed/flaky.xml"))])
    runs = {}
    for offset in (0, 1, 2, 3, 3):
        runs.setdefault(offset, []).append(pipeline.collect_feeds(cfg, DAY1 + timedelta(offset)))
    assert [r.feeds_failed for r in runs[0] + runs[1]] == [1, 1]
    assert runs[2][0].feeds_skipped == 1 and runs[2][0].feeds_failed == 0
    assert runs[2][0].failures == (
        Failure("Flaky", "backing off after 2 failed runs; next attempt on 2026-11-05"),
    )
    assert faults.hits("/feed/flaky.xml") == 4  # day 3 skipped; day 4 tried twice
    assert [len(r.feed_alert_ids) for r in runs[3]] == [1, 0]
    alerts = _rows(cfg, "SELECT rule, keyword, summary, status FROM alerts")
    assert alerts == [
        (
            "feed_health",
            "Flaky",
            "Feed 'Flaky' has failed 3 runs in a row (since 2026-11-02); "
            "next attempt on 2026-11-09",
            "pending",
        )
    ]
    faults.feeds["flaky.xml"] = (
        _rss([("Back", "http://example.org/b", _at(3, 9))]).encode(),
        "text/xml",
    )
    back = pipeline.collect_feeds(cfg, DAY1 + timedelta(days=7))
    assert (back.feeds_ok, back.new_entries) == (1, 1)
    assert _rows(cfg, "SELECT consecutive_failures, next_attempt_on, failing_since FROM feeds") == [
        (0, None, None)
    ]


def test_silent_feed_raises_an_alert(faults, tmp_path):
    items = [(f"Item {i}", f"http://example.org/{i}", _at(18 + i, 1)) for i in range(6)]
    faults.feeds["quiet.xml"] = (_rss(items).encode(), "text/xml")
    cfg = _config(tmp_path, [("Quiet", faults.url("/feed/quiet.xml"))])
    first = pipeline.collect_feeds(cfg, date(2026, 11, 1))
    later = pipeline.collect_feeds(cfg, date(2026, 11, 3))
    again = pipeline.collect_feeds(cfg, date(2026, 11, 3))
    assert first.feed_alert_ids == () and len(later.feed_alert_ids) == 1
    assert again.feed_alert_ids == ()
    assert _rows(cfg, "SELECT summary FROM alerts") == [
        ("Feed 'Quiet' has published nothing for 2.0 days (usually an item every 1 h)",)
    ]


def _site_config(tmp_path: Path, site: FixtureSite, db_url: str, smtp: SmtpSink) -> Config:
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_SMTP_URL": smtp.url}
    cfg = load_config(write_config(tmp_path, site), env=env)
    pipeline.init(cfg)
    return cfg


@pytest.mark.integration
def test_rerun_of_an_earlier_day_raises_nothing_and_sends_nothing(tmp_path, site, db_url, smtp):
    cfg = _site_config(tmp_path, site, db_url, smtp)
    pipeline.run_day(cfg, date(2026, 11, 2))
    pipeline.run_day(cfg, date(2026, 11, 3))
    sent, alerts = len(smtp.messages), _rows(cfg, "SELECT id, rule, keyword FROM alerts")
    # Seen from the end of 2 November, the wire's last item (08:00) is hours old and its
    # three items that day were 2.5 h apart: that is not a silence, it is the past.
    rerun = pipeline.run_day(cfg, date(2026, 11, 2))
    assert (rerun.alerts_raised, rerun.alerts_sent) == (0, 0)
    assert len(smtp.messages) == sent
    assert _rows(cfg, "SELECT id, rule, keyword FROM alerts") == alerts
    assert not [a for a in alerts if a[1] == "feed_health"]


@pytest.mark.integration
def test_first_run_over_old_items_raises_no_silence_alert(tmp_path, site, db_url, smtp):
    cfg = _site_config(tmp_path, site, db_url, smtp)
    # The newest fixture items are from 3-4 November: five days old on the 9th, but this
    # is the first time the monitor reads these feeds.
    first = pipeline.run_day(cfg, date(2026, 11, 9))
    assert first.new_entries == 11  # every fixture item lies in the 7-day lookback
    assert _rows(cfg, "SELECT COUNT(*) FROM alerts WHERE rule = 'feed_health'") == [(0,)]
    bodies = [m.message.get_body(("plain",)).get_content() for m in smtp.messages]
    assert not [b for b in bodies if "published nothing" in b]


@pytest.mark.integration
def test_a_silent_feed_still_raises_its_alert_once(tmp_path, site, db_url, smtp):
    cfg = _site_config(tmp_path, site, db_url, smtp)
    pipeline.run_day(cfg, date(2026, 11, 3))
    # Nothing new on the wire since 3 November 12:00, against an item every 6.6 h before.
    quiet = pipeline.run_day(cfg, date(2026, 11, 8))
    assert _rows(
        cfg,
        "SELECT CAST(run_date AS VARCHAR(10)), rule, keyword, summary FROM alerts "
        "WHERE rule = 'feed_health'",
    ) == [
        (
            "2026-11-08",
            "feed_health",
            "Formosa Wire",
            "Feed 'Formosa Wire' has published nothing for 5.5 days (usually an item every 6.6 h)",
        )
    ]
    assert quiet.alerts_sent >= 1
    mails = len(smtp.messages)
    assert (
        "published nothing for 5.5 days"
        in smtp.messages[-1].message.get_body(("plain",)).get_content()
    )
    again = pipeline.run_day(cfg, date(2026, 11, 8))
    backfill = pipeline.run_day(cfg, date(2026, 11, 4))
    assert (again.alerts_raised, backfill.alerts_raised) == (0, 0)
    assert len(smtp.messages) == mails


def test_monitor_feeds_prints_the_health_table(faults, tmp_path):
    faults.feeds["a.xml"] = (_rss([("One", "http://example.org/1", _at(3))]).encode(), "text/xml")
    cfg = _config(tmp_path, [("Good", faults.url("/feed/a.xml")), ("Bad", faults.url("/500"))])
    pipeline.collect_feeds(cfg, DAY1)
    config = str(tmp_path / "monitor.yaml")
    env = {"MONITOR_DATABASE_URL": cfg.db_url}
    shown = CliRunner().invoke(app, ["feeds", "--config", config], env=env)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == [
        "feed",
        "status",
        "last",
        "success",
        "fails",
        "next",
        "try",
        "items/day",
        "last",
        "item",
    ]
    assert set(lines[1]) == {"-", " "}  # the rule under the header
    assert lines[2].split()[:2] == ["Good", "ok"] and lines[2].split()[-3:] == [
        "2026-11-02",
        "03:00",
        "UTC",
    ]
    assert lines[3].split()[:2] == ["Bad", "failed"] and "2026-11-03" in lines[3]
    assert lines[4].strip() == "Bad: HTTP 500 Internal Server Error"

    checked = CliRunner().invoke(app, ["feeds", "check", "--all", "--config", config], env=env)
    assert checked.exit_code == 1  # one feed failed
    assert "ok     Good" in checked.output and "entries  1" in checked.output
    assert "FAILED Bad" in checked.output and "problem  HTTP 500" in checked.output
    one = CliRunner().invoke(app, ["feeds", "check", faults.url("/feed/a.xml"), "--config", config])
    assert one.exit_code == 0 and "format   rss20" in one.output
