"""A page's rel=canonical is trusted only within reason, through ``monitor run``.

Two outlets on one local server: one reached as ``localhost``, the other as
``127.0.0.1`` (two registrable "domains" as far as the monitor can tell). The second
outlet's page names the first outlet's stored article as its canonical, or an arbitrary
host: neither may change what is stored or what the email links to.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_server import FaultServer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.cli import app

pytestmark = pytest.mark.integration

DAY1, DAY2 = "2026-11-02", "2026-11-03"
DATES = {DAY1: "Mon, 02 Nov 2026 08:00:00 +0000", DAY2: "Tue, 03 Nov 2026 08:00:00 +0000"}

STORY = (
    "Taiwan and US agree chip tariff of 15 percent",
    "Taiwan and the United States agreed on Monday to set the tariff on Taiwanese "
    "semiconductors at 15 percent, down from 20 percent, trade officials in Taipei said. "
    "TSMC and other chipmakers welcomed the deal, which also covers investment in new "
    "fabs in Arizona over the next four years.",
)
FORGED = (
    "Taiwan chip tariff deal collapses",
    "A rival site claims that the semiconductor tariff talks between Taiwan and the "
    "United States collapsed overnight and that chipmakers face a 100 percent duty. "
    "TSMC declined to comment on the report, and officials in Taipei did not answer "
    "questions about the tariff or the fabs in Arizona.",
)


def page(title: str, body: str, canonical: str | None) -> str:
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{link}</head><body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def rss(items: list[tuple[str, str, str]]) -> bytes:
    """(title, link, day) items; ``day`` is DAY1/DAY2 or an RFC 822 time."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{t}</description><pubDate>{DATES.get(day, day)}</pubDate></item>"
        for t, link, day in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{body}</channel></rss>'
    ).encode()


@pytest.fixture
def outlets() -> Iterator[tuple[FaultServer, str, str]]:
    """The server, the first outlet's base URL and the second's."""
    with FaultServer() as server:
        yield server, f"http://localhost:{server.port}", f"http://127.0.0.1:{server.port}"


def _config(tmp_path: Path, wire: str, rival: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  timeout_seconds: 5\n"
        "  per_host_delay_seconds: 0\n  retries: 0\n"
        f"feeds:\n  - name: Wire\n    url: {wire}/feed/wire.xml\n"
        f"  - name: Rival\n    url: {rival}/feed/rival.xml\n"
        "alerts:\n  daily_digest: true\n  recipients: [desk@example.org]\n",
        encoding="utf-8",
    )
    return path


def _run(config: Path, db_url: str, day: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(config), "--date", day, "--json"],
        env={"MONITOR_DATABASE_URL": db_url},
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_a_page_elsewhere_cannot_rewrite_a_stored_article(
    db_url: str, outlets: tuple[FaultServer, str, str], tmp_path: Path
) -> None:
    server, wire, rival = outlets
    story_url = f"{wire}/page/story"
    server.pages["story"] = page(*STORY, canonical=story_url)
    server.feeds["wire.xml"] = (rss([(STORY[0], story_url, DAY1)]), "application/rss+xml")
    server.feeds["rival.xml"] = (rss([]), "application/rss+xml")
    config = _config(tmp_path, wire, rival)
    _run(config, db_url, DAY1)
    before = _rows(db_url, "SELECT id, canonical_url, title, text, version FROM articles")
    assert [(r[1], r[2], r[4]) for r in before] == [(story_url, STORY[0], 1)]

    # The rival's page claims the wire's article as its canonical.
    server.pages["forged"] = page(*FORGED, canonical=story_url)
    forged_url = f"{rival}/page/forged"
    server.feeds["rival.xml"] = (rss([(FORGED[0], forged_url, DAY2)]), "application/rss+xml")
    _run(config, db_url, DAY2)

    assert (
        _rows(
            db_url,
            f"SELECT id, canonical_url, title, text, version FROM articles "
            f"WHERE id = {before[0][0]}",
        )
        == before
    )
    assert _rows(db_url, "SELECT count(*) FROM article_versions") == [(0,)]
    forged = _rows(
        db_url,
        f"SELECT canonical_url, page_error FROM entries WHERE link = '{forged_url}'",
    )
    assert forged == [
        (
            forged_url,
            f"declared canonical {story_url} ignored: localhost is not the page's domain "
            "(127.0.0.1) nor an alias of it (http.canonical_aliases)",
        )
    ]
    stored = _rows(db_url, f"SELECT title FROM articles WHERE canonical_url = '{forged_url}'")
    assert stored == [(FORGED[0],)]


def test_a_canonical_to_an_arbitrary_host_is_neither_stored_nor_mailed(
    db_url: str, outlets: tuple[FaultServer, str, str], tmp_path: Path
) -> None:
    server, wire, rival = outlets
    own_url = f"{rival}/page/elsewhere"
    elsewhere = "https://phishing.example.net/login?next=news"
    server.pages["elsewhere"] = page(*STORY, canonical=elsewhere)
    server.feeds["wire.xml"] = (rss([]), "application/rss+xml")
    server.feeds["rival.xml"] = (rss([(STORY[0], own_url, DAY1)]), "application/rss+xml")
    config = _config(tmp_path, wire, rival)
    _run(config, db_url, DAY1)

    assert _rows(db_url, "SELECT canonical_url FROM articles") == [(own_url,)]
    assert not _rows(db_url, "SELECT id FROM entries WHERE canonical_url LIKE '%phishing%'")
    mails = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    assert mails, "the daily digest went to the outbox"
    for path in mails:
        message = email.message_from_bytes(path.read_bytes())
        parts = [p.get_payload(decode=True) for p in message.walk() if not p.is_multipart()]
        body = b"".join(p for p in parts if isinstance(p, bytes)).decode("utf-8", "replace")
        assert "phishing.example.net" not in body
        assert own_url in body


def test_the_feeds_own_domain_and_configured_aliases_are_trusted(
    db_url: str, outlets: tuple[FaultServer, str, str], tmp_path: Path
) -> None:
    """The wire's feed (on localhost) links to a page served as 127.0.0.1 that names
    the localhost URL: the feed's domain, so the canonical holds."""
    server, wire, rival = outlets
    served_url = f"{rival}/page/mirror"
    canonical = f"{wire}/page/original"
    server.pages["mirror"] = page(*STORY, canonical=canonical)
    server.feeds["wire.xml"] = (rss([(STORY[0], served_url, DAY1)]), "application/rss+xml")
    server.feeds["rival.xml"] = (rss([]), "application/rss+xml")
    config = _config(tmp_path, wire, rival)
    _run(config, db_url, DAY1)
    assert _rows(db_url, "SELECT canonical_url FROM articles") == [(canonical,)]


def test_reextract_changes_an_article_only_from_its_own_page(
    db_url: str, outlets: tuple[FaultServer, str, str], tmp_path: Path
) -> None:
    """The rival republishes the wire's text under its own headline: a duplicate of
    the wire's article. Re-extracting the archive must not put that headline (or any
    of the copy's page) into the wire's article."""
    server, wire, rival = outlets
    story_url, copy_url = f"{wire}/page/story", f"{rival}/page/copy"
    server.pages["story"] = page(*STORY, canonical=None)
    # The same article body, under the rival's own headline in <title>.
    server.pages["copy"] = page(*STORY, canonical=None).replace(
        f"<title>{STORY[0]}</title>", "<title>Rival headline over the wire's story</title>"
    )
    server.feeds["wire.xml"] = (rss([(STORY[0], story_url, DAY1)]), "application/rss+xml")
    # Republished two hours after the wire's story: stories are stored in order of
    # publication, so the wire's is the original whichever shard fetched first.
    republished = "Mon, 02 Nov 2026 10:00:00 +0000"
    server.feeds["rival.xml"] = (rss([("Copy", copy_url, republished)]), "application/rss+xml")
    config = _config(tmp_path, wire, rival)
    _run(config, db_url, DAY1)
    before = _rows(db_url, "SELECT id, canonical_url, title, text FROM articles")
    assert [(r[1], r[2]) for r in before] == [(story_url, STORY[0])]
    copy = _rows(db_url, f"SELECT state, article_id FROM entries WHERE link = '{copy_url}'")
    assert copy == [("duplicate", before[0][0])]

    result = CliRunner().invoke(
        app, ["reextract", "--config", str(config)], env={"MONITOR_DATABASE_URL": db_url}
    )
    assert result.exit_code == 0, result.output
    assert _rows(db_url, "SELECT id, canonical_url, title, text FROM articles") == before
