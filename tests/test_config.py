"""Config: shipped defaults, a user file overriding only its keys, the environment, and
clear errors naming the file, the key and the problem."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import DEFAULT_CONFIG_PATH, load_config, parse_smtp_url
from monitor.errors import ConfigError


def test_shipped_profile_loads_with_the_contract_keys():
    cfg = load_config(env={})
    assert cfg.http.allow_private_addresses is False
    assert [k.name for k in cfg.watch.keywords][:6] == [
        "tariff",
        "export controls",
        "TSMC",
        "Arizona",
        "CHIPS Act",
        "investment",
    ]
    assert cfg.feeds and all(not f.verified for f in cfg.feeds)  # unverified from offline
    assert cfg.alerts.recipients and cfg.alerts.sender
    assert cfg.smtp is None
    assert cfg.db_url.startswith("sqlite:///") and cfg.db_url.endswith("var/monitor.db")


def test_a_file_with_only_feeds_keeps_the_shipped_topic_and_watch_list(tmp_path: Path):
    user = tmp_path / "mine.yaml"
    user.write_text("feeds:\n  - name: Mine\n    url: https://example.org/feed.xml\n")
    cfg = load_config(user, env={})
    shipped = load_config(env={})
    assert [(f.name, f.url) for f in cfg.feeds] == [("Mine", "https://example.org/feed.xml")]
    assert cfg.topic == shipped.topic and cfg.watch == shipped.watch
    assert cfg.source_files == (str(DEFAULT_CONFIG_PATH), str(user))


def test_nested_keys_merge_one_by_one(tmp_path: Path):
    user = tmp_path / "mine.yaml"
    user.write_text("http:\n  allow_private_addresses: true\n")
    cfg = load_config(user, env={})
    assert cfg.http.allow_private_addresses is True
    assert cfg.http.max_bytes == 10_000_000  # untouched sibling keys keep their defaults


def test_a_retired_key_still_loads_with_one_warning(tmp_path: Path, caplog):
    """watch.figure_window_words fed the figures of old (monitor.signals.find_figures):
    operators' files that still set it load as before, told once that it does nothing."""
    user = tmp_path / "old.yaml"
    user.write_text("watch:\n  figure_window_words: 12\n")
    with caplog.at_level(logging.WARNING, logger="monitor.config"):
        cfg = load_config(user, env={})
    assert cfg.watch == load_config(env={}).watch
    assert [r.getMessage() for r in caplog.records] == [
        "config: watch.figure_window_words is ignored (tracked figures (watch.tracked) say "
        "where figures are read); remove it"
    ]


def test_monitor_config_env_names_the_user_file(tmp_path: Path):
    user = tmp_path / "env.yaml"
    user.write_text("timezone: Asia/Taipei\n")
    assert load_config(env={"MONITOR_CONFIG": str(user)}).timezone == "Asia/Taipei"


@pytest.mark.parametrize(
    ("yaml_text", "key", "problem"),
    [
        ("feeds:\n  - name: X\n    url: ftp://x\n", "feeds.0.url", "http(s) URL"),
        ("feeds:\n  - name: X\n", "feeds.0.url", "Field required"),
        ("http:\n  max_bytes: -1\n", "http.max_bytes", "greater than 0"),
        ("http:\n  allow_private_adresses: true\n", "http.allow_private_adresses", "Extra"),
        ("alerts:\n  recipients: [not-an-address]\n", "alerts.recipients", "email"),
        ("timezone: Mars/Olympus\n", "timezone", "unknown time zone"),
        ("topic:\n  require: [[taiwan, chips]]\n", "topic", "facets that are not defined"),
        (
            "topic:\n  facets:\n    chip_tariff:\n      patterns: {bad: '(unclosed'}\n",
            "topic.facets.chip_tariff",
            "pattern 'bad'",
        ),
        (
            "feeds:\n  - name: X\n    url: http://x.org/" + "a" * 2000 + "\n",
            "feeds.0.url",
            "at most 2000 characters",
        ),
        (
            "feeds:\n  - name: X\n    url: http://x.org/\n    language: " + "e" * 21 + "\n",
            "feeds.0.language",
            "at most 20 characters",
        ),
        (
            "http:\n  canonical_aliases: [[cna.com.tw, 'https://focustaiwan.tw/']]\n",
            "http.canonical_aliases",
            "not a domain name: 'https://focustaiwan.tw/'",
        ),
        (
            "alerts:\n  resend_unknown_after: soon\n",
            "alerts.resend_unknown_after",
            "'soon' is not a duration like 12h, 90m, 2d or 30s",
        ),
        ("alerts:\n  resend_unknown_after: -60\n", "alerts.resend_unknown_after", "negative"),
    ],
)
def test_a_wrong_config_names_file_key_and_problem(tmp_path, yaml_text, key, problem):
    user = tmp_path / "bad.yaml"
    user.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_config(user, env={})
    message = str(caught.value)
    assert str(user) in message and key in message and problem in message


def test_unreadable_and_malformed_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml", env={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("feeds: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken, env={})
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listed, env={})


def test_environment_sets_database_and_smtp():
    cfg = load_config(
        env={
            "MONITOR_DATABASE_URL": "postgresql+psycopg://u@db/monitor",
            "MONITOR_SMTP_URL": "smtp://alice:p%40ss@mail.example.org:587?starttls=true",
        }
    )
    assert cfg.db_url == "postgresql+psycopg://u@db/monitor"
    assert cfg.smtp is not None
    assert (cfg.smtp.host, cfg.smtp.port, cfg.smtp.username, cfg.smtp.password) == (
        "mail.example.org",
        587,
        "alice",
        "p@ss",
    )
    assert cfg.smtp.starttls and not cfg.smtp.ssl
    assert "p@ss" not in repr(cfg.smtp) and "p@ss" not in cfg.smtp.describe()


@pytest.mark.parametrize(
    ("url", "host", "port", "ssl", "starttls"),
    [
        ("smtp://localhost:1025", "localhost", 1025, False, False),
        ("smtps://mail.example.org", "mail.example.org", 465, True, False),
        ("smtp://mail.example.org", "mail.example.org", 25, False, False),
        ("smtp://m.example.org:587?starttls=1", "m.example.org", 587, False, True),
    ],
)
def test_smtp_urls(url, host, port, ssl, starttls):
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.ssl, s.starttls) == (host, port, ssl, starttls)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("0s", timedelta(0)),
        (3600, timedelta(hours=1)),
    ],
)
def test_resend_unknown_after_reads_durations(tmp_path: Path, value, expected):
    user = tmp_path / "m.yaml"
    user.write_text(f"alerts:\n  resend_unknown_after: {value}\n")
    assert load_config(user, env={}).alerts.resend_unknown_after == expected
    assert load_config(env={}).alerts.resend_unknown_after == timedelta(hours=12)


def test_smtp_url_timeout():
    assert parse_smtp_url("smtp://h:25?timeout=2.5").timeout_seconds == 2.5
    assert parse_smtp_url("smtp://h:25").timeout_seconds == 30.0
    for bad in ("0", "-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="MONITOR_SMTP_URL: timeout must be a number"):
            parse_smtp_url(f"smtp://h:25?timeout={bad}")


@pytest.mark.parametrize("url", ["http://mail:25", "smtp://", "smtp://host:notaport"])
def test_bad_smtp_urls_are_config_errors(url):
    with pytest.raises(ConfigError, match="MONITOR_SMTP_URL"):
        parse_smtp_url(url)


def test_feed_urls_take_the_port_from_the_environment():
    """config/demo.yaml's feeds follow DEMO_PORT (8765 when it is unset); nothing but a
    feed URL is expanded."""
    demo = Path(__file__).resolve().parents[1] / "config" / "demo.yaml"
    default = load_config(demo, env={})
    assert [f.url for f in default.feeds][:2] == [
        "http://127.0.0.1:8765/feeds/wire.xml",
        "http://127.0.0.1:8765/feeds/ledger.atom",
    ]
    moved = load_config(demo, env={"DEMO_PORT": "9123"})
    assert {f.url.split("/")[2] for f in moved.feeds} == {"127.0.0.1:9123"}
    assert moved.alerts.sender == "chip-trade-monitor@example.org"
