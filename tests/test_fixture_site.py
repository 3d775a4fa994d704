"""Tests of the fixture news site server and of the fixture content's promises."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from bs4 import BeautifulSoup

try:
    from fixture_site import DEFAULT_ROOT, FixtureSite
except ImportError:  # tests/ imported as a package
    from tests.fixture_site import DEFAULT_ROOT, FixtureSite

ARTICLES = DEFAULT_ROOT / "articles"
W6_LINK_PATH = "/articles/chips-act-grant-update.html"


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def test_base_is_substituted_in_feeds_and_pages(site: FixtureSite, client: httpx.Client) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", site.base_url)
    feed = client.get(site.url("/feeds/wire.xml"))
    assert feed.status_code == 200
    assert "{{BASE}}" not in feed.text
    assert f"<link>{site.base_url}/articles/tariff-deal-15-percent.html</link>" in feed.text
    page = client.get(site.url("articles/typhoon-taipei.html"))
    assert f'rel="canonical" href="{site.base_url}/articles/typhoon-taipei.html"' in page.text
    assert int(page.headers["content-length"]) == len(page.content)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/wire.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/zh.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/broken.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/ledger.atom", "application/atom+xml; charset=utf-8"),
        ("/articles/zh-tsmc-tariff.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ],
)
def test_content_types(
    site: FixtureSite, client: httpx.Client, path: str, content_type: str
) -> None:
    response = client.get(site.url(path))
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


def test_status_route_and_404(site: FixtureSite, client: httpx.Client) -> None:
    error = client.get(site.url("/status/500"))
    assert error.status_code == 500
    assert error.text == "500 Internal Server Error\n"
    assert client.get(site.url("/status/429")).status_code == 429
    assert client.get(site.url("/status/204")).content == b""
    assert client.get(site.url("/no/such/page.html")).status_code == 404
    assert client.get(site.url("/status/abc")).status_code == 404
    assert client.get(site.url(W6_LINK_PATH)).status_code == 404


def test_paths_outside_root_are_404(site: FixtureSite) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    try:
        for raw in (
            "/../fixture_site.py",
            "/articles/../../fixture_site.py",
            "/%2e%2e/conftest.py",
        ):
            connection.request("GET", raw)
            response = connection.getresponse()
            response.read()
            assert response.status == 404, raw
            connection.close()
    finally:
        connection.close()


def test_head_and_etag(site: FixtureSite, client: httpx.Client) -> None:
    head = client.head(site.url("/feeds/ledger.atom"))
    assert head.status_code == 200 and head.content == b""
    etag = head.headers["etag"]
    again = client.get(site.url("/feeds/ledger.atom"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_request_log() -> None:
    with FixtureSite() as fresh, httpx.Client(timeout=5) as c:
        c.get(fresh.url("/feeds/zh.xml"))
        c.get(fresh.url("/articles/tariff-deal-15-percent.html?utm_source=x#top"))
        c.get(fresh.url("/articles/tariff-deal-15-percent.html"))
        c.get(fresh.url("/status/503"))
        assert fresh.requests == [
            "/feeds/zh.xml",
            "/articles/tariff-deal-15-percent.html?utm_source=x",
            "/articles/tariff-deal-15-percent.html",
            "/status/503",
        ]
        assert fresh.hits("/articles/tariff-deal-15-percent.html") == 2
        assert fresh.hits("/feeds/wire.xml") == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(fresh.url("/feeds/zh.xml"), timeout=2)


def test_every_feed_link_resolves(site: FixtureSite, client: httpx.Client) -> None:
    seen: dict[str, int] = {}
    for feed_path, expected_count in (
        ("/feeds/wire.xml", 6),
        ("/feeds/ledger.atom", 4),
        ("/feeds/zh.xml", 1),
    ):
        parsed = feedparser.parse(client.get(site.url(feed_path)).content)
        assert not parsed.bozo, feed_path
        assert len(parsed.entries) == expected_count
        for entry in parsed.entries:
            assert entry.link.startswith(site.base_url + "/articles/")
            response = client.get(entry.link)
            seen[entry.link] = response.status_code
            if response.status_code == 200:
                soup = BeautifulSoup(response.text, "html.parser")
                canonical = soup.find("link", rel="canonical")
                assert canonical is not None
                assert client.get(str(canonical["href"])).status_code == 200
    assert {link for link, code in seen.items() if code != 200} == {site.base_url + W6_LINK_PATH}
    assert seen[site.base_url + W6_LINK_PATH] == 404


def test_broken_feed_is_not_a_feed(site: FixtureSite, client: httpx.Client) -> None:
    response = client.get(site.url("/feeds/broken.xml"))
    assert response.status_code == 200
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<rss')
    parsed = feedparser.parse(response.content)
    assert parsed.bozo and not parsed.entries


def _article_text(path: Path) -> str:
    article = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").find("article")
    assert article is not None
    return article.get_text(" ")


def test_content_promises() -> None:
    """The figures and phrases the end-to-end tests rely on are where EXPECTED.md says."""
    percent = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|percent\b|per\s+cent\b)", re.I)
    found: dict[str, list[str]] = {}
    for file in sorted(DEFAULT_ROOT.rglob("*")):
        if file.is_file() and file.suffix in {".html", ".xml", ".atom"}:
            text = file.read_bytes().decode("utf-8", errors="replace")
            hits = percent.findall(text)
            if hits:
                found[file.name] = hits
            lower = text.lower()
            if any(
                p in lower
                for p in ("export control", "export restriction", "entity list", "出口管制")
            ):
                assert file.name in {
                    "us-export-controls-ai-chips.html",
                    "us-export-controls-ai-chips-syndicated.html",
                    "ledger.atom",
                    "wire.xml",
                }, file.name
            if any(p in lower for p in ("chips act", "chips and science", "晶片法案")):
                assert file.name == "wire.xml", file.name
    assert found == {
        "partnership-talks-republished.html": ["20 percent"],
        "taiwan-tariff-outlook-day3.html": ["10 percent"],
        "tariff-deal-15-percent.html": ["15 percent"],
        "tsmc-arizona-second-fab.html": ["15 percent"],
    }
    assert _article_text(ARTICLES / "us-export-controls-ai-chips.html") == _article_text(
        ARTICLES / "us-export-controls-ai-chips-syndicated.html"
    )


def test_runs_as_a_script() -> None:
    script = Path(__file__).with_name("fixture_site.py")
    with subprocess.Popen(
        [sys.executable, str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            match = re.fullmatch(r"fixture site on (http://127\.0\.0\.1:\d+)", line)
            assert match, line
            assert httpx.get(match.group(1) + "/feeds/wire.xml", timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0
