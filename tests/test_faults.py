"""The fault server against the fetching stages: every fault gives a clear status, the
run completes, memory stays bounded and nothing already stored is lost."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fault_server import FaultServer
from sqlalchemy import create_engine, text

from monitor import feeds, pages, pipeline
from monitor.config import FeedConfig, HttpConfig, load_config
from monitor.politeness import PoliteFetcher

CAP = 1_000_000
GIVE_UP = "set http.allow_private_addresses: true to allow"


def _http(**overrides: object) -> HttpConfig:
    values: dict[str, object] = {
        "allow_private_addresses": True,
        "timeout_seconds": 1.5,
        "read_timeout_seconds": 1.0,
        "connect_timeout_seconds": 1.0,
        "max_bytes": CAP,
        "per_host_delay_seconds": 0.0,
        "backoff_seconds": 0.01,
        "retries": 1,
    }
    values.update(overrides)
    return HttpConfig.model_validate(values)


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


PAGE_FAULTS = [
    ("/500", "http_error", "HTTP 500 Internal Server Error"),
    ("/slowloris", "timeout", "not finished within 1.5 s (http.timeout_seconds, wall clock)"),
    ("/reset", "network_error", "network error (ReadError)"),
    ("/truncated-gzip", "network_error", "body cut short: the compressed stream ends"),
    ("/bomb", "too_large", f"the body is larger than the cap of {CAP} bytes"),
    ("/gigabyte", "too_large", f"the body is larger than the cap of {CAP} bytes"),
    ("/gigabyte-declared", "too_large", f"Content-Length {1 << 30} is larger than the cap"),
    ("/loop", "too_many_redirects", "more than 5 redirects"),
]


@pytest.mark.parametrize(("path", "status", "error"), PAGE_FAULTS)
def test_page_fault_gets_a_clear_status_in_bounded_memory(faults, path, status, error):
    tracemalloc.start()
    try:
        with PoliteFetcher(_http()) as fetcher:
            outcome = pages.fetch_page(faults.url(path), fetcher)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.page is None
    assert outcome.result.status == status
    assert (outcome.result.error or "").startswith(error)
    # The body cap is 1 MB; a 10 GB bomb or a 1 GB body must not get anywhere near.
    assert peak < 8 * CAP


class _ToLocalServer(httpx.BaseTransport):
    """Sends every request to the fault server whatever its host, so a public address
    passes the guard on the first hop and the redirect hop is what is tested."""

    def __init__(self, port: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._port = port
        self.asked: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        request.url = request.url.copy_with(host="127.0.0.1", port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/to-127", "127.0.0.1 (loopback)"),
        ("/to-metadata", "169.254.169.254 (link-local)"),
        ("/to-v6-loopback", "::1 (loopback)"),
        ("/to-10", "10.0.0.1 (private)"),
    ],
)
def test_redirects_to_internal_addresses_are_blocked(faults, path, where):
    transport = _ToLocalServer(faults.port)
    http = _http(allow_private_addresses=False, obey_robots=False)
    with PoliteFetcher(http, transport=transport) as fetcher:
        outcome = pages.fetch_page(f"http://93.184.215.14{path}", fetcher)
    assert outcome.result.status == "blocked"
    assert outcome.result.error == f"refused: {where}, a non-public address; {GIVE_UP}"
    assert transport.asked == [f"http://93.184.215.14{path}"]


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "' + (f"&lol{i - 1};" if i > 1 else "&lol;") * 10 + '">\n'
        for i in range(1, 10)
    )
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    "<item><title>Laughs</title><link>http://example.org/a</link></item></channel></rss>"
).encode()
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
    b"<link>http://example.org/b</link></item></channel></rss>"
)


@pytest.mark.parametrize(("name", "body"), [("laughs.xml", BILLION_LAUGHS), ("xxe.xml", XXE)])
def test_entity_feeds_are_neutralised(faults, name, body):
    faults.feeds[name] = (body, "application/rss+xml")
    feed = FeedConfig(name=name, url=faults.url(f"/feed/{name}"))
    tracemalloc.start()
    try:
        with PoliteFetcher(_http()) as fetcher:
            result = feeds.fetch_feed(feed, fetcher)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "ok"
    assert len(result.entries) == 1
    assert "DOCTYPE with entity declarations removed" in (result.error or "")
    assert all("root:" not in e.title and "lollol" not in e.title for e in result.entries)
    assert peak < 5_000_000


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _feed_of(faults: FaultServer, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {p}</title><link>{faults.url(p)}</link>"
        f"<guid>{p}</guid><description>Summary of {p}</description>"
        "<pubDate>Mon, 02 Nov 2026 08:00:00 +0000</pubDate></item>"
        for p in paths
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Faults</title>{items}'
        "</channel></rss>"
    ).encode()


def test_a_run_over_every_fault_completes_and_keeps_what_was_stored(faults, tmp_path: Path):
    faults.feeds["run.xml"] = (_feed_of(faults, ["/page/first-story"]), "application/rss+xml")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "http:\n  allow_private_addresses: true\n  timeout_seconds: 1.5\n"
        "  read_timeout_seconds: 1\n  max_bytes: 1000000\n  per_host_delay_seconds: 0\n"
        "  backoff_seconds: 0.01\n  retries: 1\n"
        f"feeds:\n  - name: Faults\n    url: {faults.url('/feed/run.xml')}\n"
        f"  - name: Echo\n    url: {faults.url('/feed/echo.xml')}\n",
        encoding="utf-8",
    )
    cfg = load_config(config, env={"MONITOR_DATABASE_URL": db})
    pipeline.init(cfg)
    collected = pipeline.collect_feeds(cfg, date(2026, 11, 2))
    pipeline.fetch_articles(cfg, collected.entry_ids)
    before = _rows(db, "SELECT id, page_status, text_source FROM entries")
    assert before == [(1, "ok", "page")]
    assert faults.hits("/page/first-story") == 1

    # The next run: every fault at once, and another feed linking to the stored story.
    fault_paths = [p for p, _, _ in PAGE_FAULTS]
    faults.feeds["run.xml"] = (
        _feed_of(faults, ["/page/first-story", *fault_paths]),
        "application/rss+xml",
    )
    faults.feeds["echo.xml"] = (_feed_of(faults, ["/page/first-story"]), "application/rss+xml")
    collected = pipeline.collect_feeds(cfg, date(2026, 11, 2))
    assert collected.feeds_ok == 2
    fetched = pipeline.fetch_articles(cfg, collected.entry_ids)
    assert (fetched.pages_ok, fetched.pages_failed) == (0, len(PAGE_FAULTS))
    assert fetched.known_urls == 1  # the echo of the first story: not fetched again
    assert faults.hits("/page/first-story") == 1
    rows = _rows(db, "SELECT guid, page_status, text_source FROM entries WHERE id > 1")
    assert sorted(rows, key=str) == sorted(
        [("/page/first-story", None, None)] + [(p, s, "feed_summary") for p, s, _ in PAGE_FAULTS],
        key=str,
    )
    # What the first run stored is untouched.
    assert _rows(db, "SELECT id, page_status, text_source FROM entries WHERE id = 1") == before


def test_extraction_in_processes_gives_the_same_rows(tmp_path, site):
    from conftest import DAY1, write_config

    columns = (
        "SELECT guid, page_status, canonical_url, page_title, text, text_source, source, "
        "page_language FROM entries ORDER BY guid"
    )
    found = []
    for processes in (0, 2):
        where = tmp_path / str(processes)
        where.mkdir()
        config = write_config(where, site)
        text_ = config.read_text(encoding="utf-8").replace(
            "http:\n", f"http:\n  extract_processes: {processes}\n", 1
        )
        config.write_text(text_, encoding="utf-8")
        db = f"sqlite:///{where / 'm.db'}"
        cfg = load_config(config, env={"MONITOR_DATABASE_URL": db})
        assert cfg.http.extract_processes == processes
        pipeline.init(cfg)
        collected = pipeline.collect_feeds(cfg, date.fromisoformat(DAY1))
        fetched = pipeline.fetch_articles(cfg, collected.entry_ids)
        assert fetched.pages_ok == 4  # W1 (with L2), W2, W3, L1
        found.append(_rows(db, columns))
    assert found[0] == found[1]
    assert len(found[0]) == 5


def _xml_attacks(base: str) -> dict[str, tuple[str, bytes]]:
    """(feed kind, body) of the XML attacks beyond the two above; ``base`` is the fault
    server, so a parser that fetched anything would show up in its log."""
    item = "<item><title>{title}</title><link>http://example.org/{n}</link></item>"
    rss = '<rss version="2.0"><channel><title>t</title>' + item + "</channel></rss>"
    big = "x" * 10_000
    return {
        "parameter-entity": (
            "rss",
            (
                f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % ext SYSTEM "{base}/evil.dtd">'
                " %ext;]>" + rss.format(title="p", n=1)
            ).encode(),
        ),
        "external-dtd": (
            "rss",
            (
                f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{base}/evil.dtd">'
                + rss.format(title="d", n=2)
            ).encode(),
        ),
        "entity-fetching-a-url": (
            "rss",
            (
                f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{base}/secret">]>'
                + rss.format(title="&x;", n=3)
            ).encode(),
        ),
        "quadratic-blowup": (
            "rss",
            (
                f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]>'
                + rss.format(title="&a;" * 1000, n=4)
            ).encode(),
        ),
        "xinclude": (
            "rss",
            (
                b'<?xml version="1.0"?><rss version="2.0" '
                b'xmlns:xi="http://www.w3.org/2001/XInclude"><channel><title>t</title>'
                b'<item><title><xi:include href="file:///etc/passwd" parse="text"/></title>'
                b"<link>http://example.org/5</link></item></channel></rss>"
            ),
        ),
        "atom-xxe": (
            "rss",
            (
                b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
                b'<title>&x;</title><link href="http://example.org/6"/><id>6</id></entry></feed>'
            ),
        ),
        "utf16-laughs": (
            "rss",
            BILLION_LAUGHS.decode().replace('"1.0"?', '"1.0" encoding="utf-16"?').encode("utf-16"),
        ),
        "sitemap-xxe": (
            "sitemap",
            (
                '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">'
                f'<!ENTITY y SYSTEM "{base}/secret">]>'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                "<url><loc>http://example.org/7</loc><news:news><news:title>&x;&y;</news:title>"
                "</news:news></url></urlset>"
            ).encode(),
        ),
    }


@pytest.mark.parametrize(
    "attack",
    [
        "parameter-entity",
        "external-dtd",
        "entity-fetching-a-url",
        "quadratic-blowup",
        "xinclude",
        "atom-xxe",
        "utf16-laughs",
        "sitemap-xxe",
    ],
)
def test_xml_attacks_expand_nothing_and_fetch_nothing(faults, attack):
    kind, body = _xml_attacks(faults.url(""))[attack]
    name = f"attack-{attack}.xml"
    faults.feeds[name] = (body, "application/xml")
    feed = FeedConfig(name=name, url=faults.url(f"/feed/{name}"), kind=kind)
    tracemalloc.start()
    try:
        with PoliteFetcher(_http()) as fetcher:
            result = feeds.fetch_feed(feed, fetcher)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status in ("ok", "failed")
    texts = [f"{e.title} {e.summary}" for e in result.entries]
    assert not any("root:" in t or "lollol" in t or "x" * 20_000 in t for t in texts), texts
    assert faults.hits("/evil.dtd") == 0 and faults.hits("/secret") == 0
    assert peak < 5_000_000
