"""What an attacker tries against a whole ``monitor run``, kept as tests: feeds aimed at
private addresses, markup in titles, pages and links, and secrets that must not leak
into any output. (Each guard's own cases are in test_fetch, test_faults and
test_alerts; here the whole pipeline is run, as an operator would.)"""

from __future__ import annotations

import email
import email.policy
import json
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fault_server import FaultServer
from smtp_server import SmtpSink
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.cli import app

pytestmark = pytest.mark.integration
DAY = "2026-11-02"
PUBLISHED = "Mon, 02 Nov 2026 08:00:00 +0000"


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


# -- SSRF through a whole run ----------------------------------------------------------

PRIVATE_FEEDS = [
    "http://127.0.0.1:{port}/feed/a.xml",
    "http://localhost:{port}/feed/a.xml",
    "http://2130706433:{port}/feed/a.xml",
    "http://0x7f000001:{port}/feed/a.xml",
    "http://127.1:{port}/feed/a.xml",
    "http://0.0.0.0:{port}/feed/a.xml",
    "http://[::ffff:127.0.0.1]:{port}/feed/a.xml",
    "http://[::1]:{port}/feed/a.xml",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1:{port}/feed/a.xml",
]


def test_a_run_with_feeds_at_private_addresses_sends_them_nothing(
    faults: FaultServer, tmp_path: Path
) -> None:
    faults.feeds["a.xml"] = (b"<rss version='2.0'><channel></channel></rss>", "text/xml")
    lines = [f"data_dir: {tmp_path / 'var'}", "http:", "  retries: 0", "feeds:"]
    for i, form in enumerate(PRIVATE_FEEDS):
        lines += [f"  - name: F{i}", f"    url: '{form.format(port=faults.port)}'"]
    config = tmp_path / "monitor.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = _invoke(
        ["run", "--config", str(config), "--date", DAY, "--json"],
        {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"},
    )
    assert code == 0, output
    summary = json.loads(output)
    assert (summary["feeds_ok"], summary["feeds_failed"]) == (0, len(PRIVATE_FEEDS))
    assert all(f["error"].startswith("refused: ") for f in summary["failures"])
    assert faults.request_headers == []  # not one request reached the server


# -- markup from feeds and pages, escaped in the email -------------------------------

SCRIPT = "<script>alert('feed')</script>"
IMG = '"><img src=x onerror=alert(1)>'


def _html_and_text(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",))
    plain = message.get_body(("plain",))
    assert html is not None and plain is not None
    return html.get_content(), plain.get_content()


def test_markup_in_titles_pages_and_links_reaches_the_email_escaped(
    faults: FaultServer, tmp_path: Path
) -> None:
    story = (
        "Taiwan and the United States agreed on Monday to cut the tariff on Taiwanese "
        "semiconductors to 15 percent from 20 percent, officials in Taipei said, and TSMC "
        "welcomed the chip tariff deal that also covers new fabs in Arizona."
    )
    faults.pages["xss"] = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta property='og:title' content='Chip tariff deal {IMG.replace(chr(39), '')}'>"
        f"<meta property='og:site_name' content='Wire {SCRIPT}'>"
        "<link rel='canonical' href='javascript:alert(document.cookie)'>"
        # The headline agrees with og:title (the title rule takes it from there): the
        # markup is in the title the email shows, as text.
        "</head><body><article><h1>Chip tariff deal "
        f"{IMG.replace(chr(39), '').replace('<', '&lt;').replace('>', '&gt;')}</h1><p>{story}</p>"
        f"<p>{SCRIPT.replace('<', '&lt;')} and <a href='javascript:alert(2)'>a link</a>.</p>"
        "</article></body></html>"
    )
    title = SCRIPT.replace("<", "&lt;").replace(">", "&gt;") + " Chip tariff deal"
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>X</title>'
        f"<item><title>{title}</title><link>{faults.url('/page/xss')}</link>"
        f"<description>{story}</description><pubDate>{PUBLISHED}</pubDate></item>"
        "</channel></rss>"
    ).encode()
    faults.feeds["xss.xml"] = (feed, "application/rss+xml")
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  per_host_delay_seconds: 0\n  retries: 0\n"
        f"feeds:\n  - name: Wire\n    url: {faults.url('/feed/xss.xml')}\n"
        "alerts:\n  daily_digest: true\n  recipients: [desk@example.org]\n",
        encoding="utf-8",
    )
    code, output = _invoke(
        ["run", "--config", str(config), "--date", DAY],
        {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"},
    )
    assert code == 0, output
    (eml,) = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html, plain = _html_and_text(message)
    assert "Chip tariff deal" in html  # the story is in the digest
    lowered = html.lower()
    for raw in ("<script", "<img src=x", 'href="javascript:', "href='javascript:"):
        assert raw not in lowered, raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the page's title, as text
    assert "javascript:" not in plain.lower()
    assert f'href="{faults.url("/page/xss")}"' in html


# -- no secret in any output ----------------------------------------------------------

DB_PASSWORD = "Db-Pa55word-Kept-Out"
SMTP_PASSWORD = "Smtp-Pa55word-Kept-Out"


@pytest.fixture
def postgres_with_password() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, its URL carrying a password (trust
    authentication ignores it; the monitor must still never show it)."""
    from conftest import _postgres_database

    databases = _postgres_database()
    url = next(databases)
    head, _, tail = url.partition("://")
    user, _, rest = tail.partition("@")
    yield f"{head}://{user.split(':', 1)[0]}:{DB_PASSWORD}@{rest}"
    databases.close()


def test_no_password_in_any_log_output_or_stored_summary(
    faults: FaultServer,
    tmp_path: Path,
    postgres_with_password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    faults.feeds["a.xml"] = (
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>'
            f"<item><title>Chip tariffs</title><link>{faults.url('/page/chip-tariffs')}</link>"
            f"<pubDate>{PUBLISHED}</pubDate></item></channel></rss>"
        ).encode(),
        "application/rss+xml",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  per_host_delay_seconds: 0\n  retries: 0\n"
        f"feeds:\n  - name: A\n    url: {faults.url('/feed/a.xml')}\n"
        f"  - name: Down\n    url: {faults.url('/500')}\n"
        "alerts:\n  daily_digest: true\n  recipients: [desk@example.org]\n",
        encoding="utf-8",
    )
    with SmtpSink() as sink:  # offers no AUTH: the login fails, naming the server
        env = {
            "MONITOR_DATABASE_URL": postgres_with_password,
            "MONITOR_SMTP_URL": f"smtp://bot:{SMTP_PASSWORD}@{sink.host}:{sink.port}",
        }
        code, output = _invoke(["-v", "run", "--config", str(config), "--date", DAY], env)
        assert code == 3, output  # the email failed; the run itself completed
        assert sink.messages == []
        outputs = [output, caplog.text]
        for args in (["last-run"], ["feeds"], ["alerts"], ["articles"]):
            outputs.append(_invoke([*args, "--config", str(config)], env)[1])
        outputs.append(_invoke(["init", "--config", str(config)], env)[1])
    engine = create_engine(postgres_with_password)
    try:
        with engine.connect() as conn:
            stored = [str(v) for (v,) in conn.execute(text("SELECT stats FROM runs"))]
            stored += [str(v) for (v,) in conn.execute(text("SELECT last_error FROM alerts"))]
    finally:
        engine.dispose()
    assert stored, "the run was recorded"
    everything = "\n".join(outputs + stored)
    assert "email FAILED" in output
    for secret in (DB_PASSWORD, SMTP_PASSWORD):
        assert secret not in everything
