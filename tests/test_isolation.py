"""One bad item never sinks a run: hostile values from feeds, pages and headers,
served by a real local server, through ``monitor run`` on SQLite and PostgreSQL.

Each case runs one healthy feed beside one hostile feed. The healthy feed's articles
must be stored, the hostile value stored cleaned and bounded (or its item left out and
reported), and the next run must go through as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_server import FaultServer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor import limits
from monitor.cli import app
from monitor.errors import RejectedItemError
from monitor.storage import Store

pytestmark = pytest.mark.integration

DAY1 = "2026-11-02"
DAY2 = "2026-11-03"
PUBLISHED = "Mon, 02 Nov 2026 08:00:00 +0000"

HEALTHY = {
    "healthy-fabs": (
        "Taiwan chipmakers weigh new Arizona fabs",
        "Taiwan's largest contract chipmaker told suppliers this week that a third "
        "Arizona plant could start construction next year if the tariff talks in "
        "Washington settle the duty on imported wafers. Suppliers in Tainan said orders "
        "for clean-room equipment had already risen since the summer.",
    ),
    "healthy-duty": (
        "Officials say the semiconductor duty may fall to 15 percent",
        "Trade officials in Taipei said on Monday that the proposed duty on Taiwanese "
        "semiconductors could fall to 15 percent from 20 percent under the framework "
        "discussed with the US Commerce Department, though no date was given for a "
        "signing and several details on chips for cars remain open.",
    ),
}


def article_html(title: str, body: str, head: str = "") -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title>{head}</head><body><article><h1>{title}</h1>"
        + "".join(f"<p>{sentence}.</p>" for sentence in body.split(". "))
        + "</article></body></html>"
    )


def rss(server: FaultServer, items: list[tuple[str, str]], channel_extra: str = "") -> bytes:
    """An RSS feed of (title, link) items, all published on DAY1."""
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>Summary of {title}</description><pubDate>{PUBLISHED}</pubDate></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed</title>{channel_extra}{body}</channel></rss>"
    ).encode()


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for name, (title, body) in HEALTHY.items():
            server.pages[name] = article_html(title, body)
        server.feeds["healthy.xml"] = (
            rss(server, [(t, server.url(f"/page/{n}")) for n, (t, _) in HEALTHY.items()]),
            "application/rss+xml",
        )
        yield server


def _config(tmp_path: Path, server: FaultServer) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  timeout_seconds: 5\n"
        "  per_host_delay_seconds: 0\n  backoff_seconds: 0.01\n  retries: 0\n"
        f"feeds:\n  - name: Healthy\n    url: {server.url('/feed/healthy.xml')}\n"
        f"  - name: Hostile\n    url: {server.url('/feed/hostile')}\n",
        encoding="utf-8",
    )
    return path


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _run(config: Path, db_url: str, day: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(config), "--date", day, "--json"],
        env={"MONITOR_DATABASE_URL": db_url},
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def _feeds_table(config: Path, db_url: str) -> str:
    result = CliRunner().invoke(
        app, ["feeds", "--config", str(config)], env={"MONITOR_DATABASE_URL": db_url}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _healthy_stored(db_url: str) -> None:
    stored = _rows(db_url, "SELECT title FROM articles ORDER BY title")
    titles = {title for title, _ in HEALTHY.values()}
    assert titles <= {row[0] for row in stored}, stored


# -- each hostile value: what is served, and what must be stored ---------------------

LONG_LINK_PATH = "/page/" + "x" * (limits.URL + 100)
LONG_LANGUAGE = "en-" + "x" * 40
LONG_SITE_NAME = "Outlet " * 80  # 560 characters
LONG_ETAG = '"' + "e" * 600 + '"'
LONG_MODIFIED = "Mon, 02 Nov 2026 08:00:00 GMT" + " " * 10 + "z" * 150


def _serve_nul_title(server: FaultServer) -> None:
    # JSON keeps a NUL that XML could not carry; the page's own title has one too.
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Hostile",
        "items": [
            {
                "id": "nul-1",
                "url": server.url("/page/nul-story"),
                "title": "Tariff\u0000 talks\u0007 resume",
                "summary": "Negotiators\u0000 met again.",
                "date_published": "2026-11-02T08:00:00Z",
            }
        ],
    }
    server.feeds["hostile"] = (json.dumps(feed).encode(), "application/feed+json")
    server.pages["nul-story"] = article_html(
        "Tariff talks resume",
        "Negotiators from Taipei and Washington met again on Monday to discuss the "
        "semiconductor tariff, and both sides said the talks would continue next month "
        "in Taipei. Officials declined to say whether a deal on the duty was close",
        head="<meta property='og:site_name' content='Null\u0000 News'>",
    )


def _check_nul_title(db_url: str, summary: dict[str, object], feeds: str) -> None:
    entries = _rows(db_url, "SELECT title, summary FROM entries WHERE guid = 'nul-1'")
    assert entries == [("Tariff talks resume", "Negotiators met again.")]
    sources = _rows(db_url, "SELECT source FROM articles WHERE canonical_url LIKE '%nul-story'")
    assert sources == [("Null News",)]  # the NUL is gone (the lxml parse drops it)


def _serve_long_link(server: FaultServer) -> None:
    server.feeds["hostile"] = (
        rss(server, [("Too long", server.url(LONG_LINK_PATH)), ("Fine", server.url("/page/ok"))]),
        "application/rss+xml",
    )


def _check_long_link(db_url: str, summary: dict[str, object], feeds: str) -> None:
    why = re.compile(rf"item skipped: link of 2\d{{3}} characters is longer than {limits.URL}")
    failures = summary["failures"]
    assert isinstance(failures, list)
    assert [f["feed"] for f in failures if why.search(f["error"])] == ["Hostile"]
    assert why.search(feeds)  # monitor feeds shows it under the feed
    links = [row[0] for row in _rows(db_url, "SELECT link FROM entries")]
    assert all(len(str(link)) <= limits.URL for link in links)
    assert any(str(link).endswith("/page/ok") for link in links)  # its neighbour is in


def _serve_long_language(server: FaultServer) -> None:
    server.feeds["hostile"] = (
        rss(server, [("Lang", server.url("/page/lang"))], f"<language>{LONG_LANGUAGE}</language>"),
        "application/rss+xml",
    )


def _check_long_language(db_url: str, summary: dict[str, object], feeds: str) -> None:
    rows = _rows(db_url, "SELECT language FROM entries WHERE link LIKE '%/page/lang'")
    assert rows == [(LONG_LANGUAGE[: limits.LANGUAGE],)]


def _serve_long_site_name(server: FaultServer) -> None:
    server.feeds["hostile"] = (
        rss(server, [("Site", server.url("/page/site"))]),
        "application/rss+xml",
    )
    server.pages["site"] = article_html(
        "A very long outlet name",
        "The island's export orders for chips rose again in October, the economics "
        "ministry said, as buyers in the United States stocked up before the tariff "
        "decision. The ministry expects orders to stay high through the end of the year",
        head=f"<meta property='og:site_name' content='{LONG_SITE_NAME}'>",
    )


def _check_long_site_name(db_url: str, summary: dict[str, object], feeds: str) -> None:
    rows = _rows(db_url, "SELECT source FROM articles WHERE canonical_url LIKE '%/page/site'")
    assert rows == [(LONG_SITE_NAME.strip()[: limits.NAME],)]


def _serve_long_validators(server: FaultServer) -> None:
    server.feeds["hostile"] = (
        rss(server, [("Validators", server.url("/page/validators"))]),
        "application/rss+xml",
    )
    server.feed_headers["hostile"] = {"ETag": LONG_ETAG, "Last-Modified": LONG_MODIFIED}


def _check_long_validators(db_url: str, summary: dict[str, object], feeds: str) -> None:
    rows = _rows(db_url, "SELECT name, etag, last_modified, last_status FROM feeds")
    assert ("Hostile", None, None, "ok") in rows
    assert _rows(db_url, "SELECT count(*) FROM entries WHERE link LIKE '%/page/validators'") == [
        (1,)
    ]


CASES: dict[str, tuple[Callable[[FaultServer], None], Callable[..., None]]] = {
    "nul-in-title": (_serve_nul_title, _check_nul_title),
    "link-over-2000": (_serve_long_link, _check_long_link),
    "language-over-20": (_serve_long_language, _check_long_language),
    "site-name-over-300": (_serve_long_site_name, _check_long_site_name),
    "etag-over-500-last-modified-over-100": (_serve_long_validators, _check_long_validators),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_value_is_cleaned_and_the_run_is_stored(
    case: str, db_url: str, faults: FaultServer, tmp_path: Path
) -> None:
    serve, check = CASES[case]
    serve(faults)
    config = _config(tmp_path, faults)
    first = _run(config, db_url, DAY1)
    assert first["feeds_ok"] == 2
    _healthy_stored(db_url)
    check(db_url, first, _feeds_table(config, db_url))
    second = _run(config, db_url, DAY2)
    assert second["feeds_ok"] == 2
    _healthy_stored(db_url)


# -- a value the database itself refuses: that item alone fails -----------------------

REFUSE = "REFUSE-ME"


def _refuse_titles(db_url: str) -> None:
    """Make the database refuse any article titled with REFUSE: a stand-in for every
    value a database may turn down that no cleaning foresaw."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON articles "
                        f"WHEN NEW.title LIKE '%{REFUSE}%' "
                        "BEGIN SELECT RAISE(ABORT, 'title refused'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "ALTER TABLE articles ADD CONSTRAINT refuse "
                        f"CHECK (title NOT LIKE '%{REFUSE}%')"
                    )
                )
    finally:
        engine.dispose()


def test_a_write_the_database_refuses_fails_that_entry_alone(
    db_url: str, faults: FaultServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, faults)
    faults.feeds["hostile"] = (rss(faults, []), "application/rss+xml")
    init = CliRunner().invoke(
        app, ["init", "--config", str(config)], env={"MONITOR_DATABASE_URL": db_url}
    )
    assert init.exit_code == 0, init.output
    _refuse_titles(db_url)
    faults.pages["refused"] = article_html(
        f"{REFUSE} chip export controls tighten",
        "Washington added more Chinese buyers of advanced chips to its export list on "
        "Tuesday, and Taiwanese foundries said they would stop shipping to them at once. "
        "Analysts said the effect on Taiwan's exports would be small this quarter",
    )
    faults.feeds["hostile"] = (
        rss(faults, [("Refused", faults.url("/page/refused"))]),
        "application/rss+xml",
    )

    first = _run(config, db_url, DAY1)
    _healthy_stored(db_url)
    failures = first["failures"]
    assert isinstance(failures, list)
    assert len(failures) == 1 and failures[0]["feed"] == "Hostile"
    assert failures[0]["error"].startswith("entry #")
    assert "could not be stored" in failures[0]["error"]
    state = _rows(db_url, "SELECT state, article_id FROM entries WHERE link LIKE '%/refused'")
    assert state == [("failed", None)]
    # Nothing of the refused item is half-written: no story, no signature for it.
    assert _rows(db_url, f"SELECT count(*) FROM stories WHERE title LIKE '%{REFUSE}%'") == [(0,)]
    table = _feeds_table(config, db_url)
    assert "Hostile: 1 item could not be stored; last: entry #" in table

    second = _run(config, db_url, DAY2)
    assert second["failures"] == []
    _healthy_stored(db_url)


def _refuse_feed_names(db_url: str) -> None:
    """Make the database refuse any feed named with REFUSE (its registration)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_feed BEFORE INSERT ON feeds "
                        f"WHEN NEW.name LIKE '%{REFUSE}%' "
                        "BEGIN SELECT RAISE(ABORT, 'feed refused'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "ALTER TABLE feeds ADD CONSTRAINT refuse_feed "
                        f"CHECK (name NOT LIKE '%{REFUSE}%')"
                    )
                )
    finally:
        engine.dispose()


def test_a_feed_the_database_refuses_fails_alone_in_its_batch(
    db_url: str, faults: FaultServer, tmp_path: Path
) -> None:
    """Feeds are recorded in batches (one transaction, a savepoint per feed): the feed
    whose values the database refuses fails alone, and the feeds before and after it
    in its batch are stored, entries, articles and all."""
    faults.pages["harbor"] = article_html(
        "Harbor cranes for chip equipment arrive in Kaohsiung",
        "New cranes for lifting chipmaking equipment arrived at the port of Kaohsiung on "
        "Monday, the port authority said. Semiconductor suppliers in the south of Taiwan "
        "said the cranes would shorten waits for tools shipped from the United States",
    )
    faults.pages["refused-feed"] = article_html(
        "Refused feed story",
        "This story sits in a feed the database will not register",
    )
    faults.feeds["refused.xml"] = (
        rss(faults, [("Refused feed story", faults.url("/page/refused-feed"))]),
        "application/rss+xml",
    )
    faults.feeds["harbor.xml"] = (
        rss(faults, [("Harbor cranes", faults.url("/page/harbor"))]),
        "application/rss+xml",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  timeout_seconds: 5\n"
        "  per_host_delay_seconds: 0\n  backoff_seconds: 0.01\n  retries: 0\n"
        "feeds:\n"
        f"  - name: Healthy\n    url: {faults.url('/feed/healthy.xml')}\n"
        f"  - name: {REFUSE} Wire\n    url: {faults.url('/feed/refused.xml')}\n"
        f"  - name: Harbor\n    url: {faults.url('/feed/harbor.xml')}\n",
        encoding="utf-8",
    )
    init = CliRunner().invoke(
        app, ["init", "--config", str(config)], env={"MONITOR_DATABASE_URL": db_url}
    )
    assert init.exit_code == 0, init.output
    _refuse_feed_names(db_url)

    for day in (DAY1, DAY2):
        summary = _run(config, db_url, day)
        assert (summary["feeds_ok"], summary["feeds_failed"]) == (2, 1)
        failures = summary["failures"]
        assert isinstance(failures, list) and len(failures) == 1
        assert failures[0]["feed"] == f"{REFUSE} Wire"
        assert failures[0]["error"].startswith(f"feed {REFUSE} Wire could not be stored: ")
        assert _rows(db_url, "SELECT name, last_status FROM feeds ORDER BY name") == [
            ("Harbor", "ok" if day == DAY1 else "unchanged"),
            ("Healthy", "ok" if day == DAY1 else "unchanged"),
        ]
        assert _rows(
            db_url,
            "SELECT f.name, count(*) FROM fetches x JOIN feeds f ON f.id = x.feed_id "
            "GROUP BY f.name ORDER BY f.name",
        ) == [("Harbor", 1 if day == DAY1 else 2), ("Healthy", 1 if day == DAY1 else 2)]
    _healthy_stored(db_url)
    titles = {row[0] for row in _rows(db_url, "SELECT title FROM articles")}
    assert "Harbor cranes for chip equipment arrive in Kaohsiung" in titles
    assert "Refused feed story" not in titles
    links = [str(row[0]) for row in _rows(db_url, "SELECT link FROM entries")]
    assert sorted(link.rsplit("/", 1)[1] for link in links) == [
        "harbor",
        "healthy-duty",
        "healthy-fabs",
    ]


def test_an_item_is_all_or_nothing(db_url: str) -> None:
    """Store.item(): a refused write undoes the item's earlier writes, and only those."""
    store = Store(db_url)
    try:
        store.migrate()
        with store.item("seed one"):
            store.add_seed("one.txt", "One", "text one", "a" * 64, b"")
        with pytest.raises(RejectedItemError) as caught:
            with store.item("seed two"):
                store.add_seed("two.txt", "Two", "text two", "b" * 64, b"")
                store.add_article(
                    canonical_url="https://example.org/x",
                    title="x",
                    source="x",
                    published_at=None,
                    run_date=None,  # NOT NULL: refused
                    text="x",
                    text_source="page",
                    content_hash="c" * 64,
                    relevance=0.0,
                    relevant=False,
                    decision="kept",
                )
        assert str(caught.value).startswith(
            "seed two: article https://example.org/x could not be stored: "
        )
        names = _rows(db_url, "SELECT name FROM seed_documents ORDER BY name")
        assert names == [("one.txt",)]
    finally:
        store.close()


def test_a_value_a_column_type_refuses_is_a_rejected_item(db_url: str) -> None:
    """A refusal raised in Python while binding (a naive time for a UTC column) fails
    the item like one the database raises."""
    from datetime import datetime

    store = Store(db_url)
    try:
        store.migrate()
        with pytest.raises(RejectedItemError) as caught:
            with store.item("entry #7"):
                store.archive_page("u", "u", 200, {}, b"", fetched_at=datetime(2026, 11, 2))
        assert "naive datetime" in str(caught.value)
        assert _rows(db_url, "SELECT count(*) FROM page_archive") == [(0,)]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("value", "limit", "stored"),
    [
        ("a\x00b\x07c\x1bd\x7fe\x85f", None, "abcdef"),
        ("two\nlines\tand\rmore", None, "two lines and more"),
        ("lone \ud800 surrogate", None, "lone  surrogate"),
        ("台積電" * 10, 20, "台積電" * 6 + "台積"),
    ],
)
def test_clean_line(value: str, limit: int | None, stored: str) -> None:
    assert limits.clean_line(value, limit) == stored


def test_clean_text_keeps_line_breaks() -> None:
    assert limits.clean_text("one\x00\ntwo\tthree\x0c") == "one\ntwo\tthree"
