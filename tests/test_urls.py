"""Canonical URLs against a table of real-shaped cases, and Google News links."""

from __future__ import annotations

import base64

import pytest

from monitor.urls import (
    canonicalize,
    choose_canonical,
    judge_canonical,
    publisher_from_google_page,
    registrable_domain,
    resolve_google_news,
)

CASES = [
    # tracking parameters
    (
        "https://focustaiwan.tw/business/202611020001?utm_source=rss&utm_medium=feed&utm_campaign=x",
        "https://focustaiwan.tw/business/202611020001",
    ),
    ("https://example.com/a?fbclid=IwAR0abc&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?gclid=Cj0K&mc_cid=1a2b&mc_eid=3c4d", "https://example.com/a"),
    ("https://example.com/a?igshid=x&_ga=2.1&msclkid=9&yclid=1", "https://example.com/a"),
    ("https://example.com/a?UTM_Source=x&page=2", "https://example.com/a?page=2"),
    ("https://news.example.com/story?ocid=msn&smid=tw-share", "https://news.example.com/story"),
    # www / m / amp host variants
    (
        "https://www.taipeitimes.com/News/biz/archives/2026/11/02/1",
        "https://taipeitimes.com/News/biz/archives/2026/11/02/1",
    ),
    (
        "https://m.cna.com.tw/news/afe/202611020001.aspx",
        "https://cna.com.tw/news/afe/202611020001.aspx",
    ),
    ("https://amp.example.com/news/1", "https://example.com/news/1"),
    ("https://m.co/x", "https://m.co/x"),  # nothing left to strip to
    # AMP paths and parameters
    ("https://example.com/news/story/amp", "https://example.com/news/story"),
    ("https://example.com/amp/news/story", "https://example.com/news/story"),
    ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
    ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
    ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
    ("https://example.com/ampersand-story", "https://example.com/ampersand-story"),
    # default ports, case, trailing slash, fragments
    ("HTTPS://Example.COM:443/News/Item", "https://example.com/News/Item"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com/news/story/", "https://example.com/news/story"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com./a", "https://example.com/a"),
    # sorted query, blank values kept
    ("https://example.com/s?b=2&a=1&c=", "https://example.com/s?a=1&b=2&c="),
    # percent-encoding
    ("https://example.com/%7Euser/a%2fb", "https://example.com/~user/a%2Fb"),
    ("https://example.com/news/台積電", "https://example.com/news/%E5%8F%B0%E7%A9%8D%E9%9B%BB"),
    ("https://example.com/news/%e5%8f%b0", "https://example.com/news/%E5%8F%B0"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    ("https://example.com/s?q=chip+tariff", "https://example.com/s?q=chip%20tariff"),
    ("https://example.com/s?q=%E9%97%9C%E7%A8%85", "https://example.com/s?q=%E9%97%9C%E7%A8%85"),
    # internationalized domain names
    ("https://新聞.台灣/a", "https://xn--efvv70d.xn--kpry57d/a"),
    # not http(s): left alone (stripped)
    (" mailto:desk@example.org ", "mailto:desk@example.org"),
]


@pytest.mark.parametrize(("url", "canonical"), CASES)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical


def test_canonicalize_is_idempotent() -> None:
    for url, canonical in CASES:
        assert canonicalize(canonical) == canonical, url


@pytest.mark.parametrize(
    ("fetched", "declared", "expected"),
    [
        (
            "https://m.example.com/a?utm_source=x",
            "https://www.example.com/news/a",
            "https://example.com/news/a",
        ),
        (
            "https://example.com/news/a/amp",
            "/news/a",
            "https://example.com/news/a",
        ),  # og:url relative
        ("https://example.com/a", "javascript:void(0)", "https://example.com/a"),
        ("https://example.com/a?fbclid=1", None, "https://example.com/a"),
    ],
)
def test_page_declared_canonical_wins(fetched: str, declared: str | None, expected: str) -> None:
    assert choose_canonical(fetched, declared) == expected


def _google_token(url: str) -> str:
    raw = b"\x08\x13\x22" + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_google_news_link_carrying_the_url_is_resolved() -> None:
    publisher = "https://www.taipeitimes.com/News/biz/archives/2026/11/02/2003846000"
    link = f"https://news.google.com/rss/articles/{_google_token(publisher)}?oc=5&hl=en-US"
    assert resolve_google_news(link) == publisher
    assert canonicalize(resolve_google_news(link) or link) == (
        "https://taipeitimes.com/News/biz/archives/2026/11/02/2003846000"
    )


@pytest.mark.parametrize(
    "link",
    [
        "https://news.google.com/rss/articles/CBMiX0FVX3lxTE9wYXF1ZQ?oc=5",  # new opaque id
        "https://news.google.com/topics/abc",
        "https://example.com/rss/articles/" + _google_token("https://a.example/x"),
    ],
)
def test_other_links_are_not_resolved(link: str) -> None:
    assert resolve_google_news(link) is None


def test_publisher_read_from_a_google_news_page() -> None:
    html = (
        '<html><body><c-wiz><div jsname="x" data-n-au="https://focustaiwan.tw/business/1">'
        '</div></c-wiz><a href="https://policies.google.com/">Privacy</a></body></html>'
    )
    page = "https://news.google.com/articles/CBMiabc"
    assert publisher_from_google_page(html, page) == "https://focustaiwan.tw/business/1"
    refresh = '<meta http-equiv="refresh" content="0;url=https://www.cna.com.tw/n/1">'
    assert publisher_from_google_page(refresh, page) == "https://www.cna.com.tw/n/1"
    assert publisher_from_google_page(html, "https://example.com/a") is None


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://news.bbc.co.uk/a", "bbc.co.uk"),
        ("https://www.cna.com.tw/news/1", "cna.com.tw"),
        ("https://focustaiwan.tw/business/2", "focustaiwan.tw"),
        ("https://one.example.github.io/", "example.github.io"),  # a private suffix
        ("https://中央社.tw/x", "xn--fiq11yt2z.tw"),
        ("http://127.0.0.1:8080/x", "127.0.0.1"),
        ("http://[::1]:8080/x", "::1"),
        ("http://localhost/x", "localhost"),
        ("mailto:desk@example.org", ""),
    ],
)
def test_registrable_domain(url: str, domain: str) -> None:
    assert registrable_domain(url) == domain


ALIASES = (("cna.com.tw", "focustaiwan.tw"),)


@pytest.mark.parametrize(
    ("fetched", "declared", "trusted", "expected", "ignored"),
    [
        # Same registrable domain, another subdomain: used.
        (
            "https://www.bbc.co.uk/a",
            "https://news.bbc.co.uk/a",
            (),
            "https://news.bbc.co.uk/a",
            None,
        ),
        # Another outlet's URL: ignored, and why.
        (
            "https://rival.com.tw/copy",
            "https://www.cna.com.tw/news/1",
            (),
            "https://rival.com.tw/copy",
            "declared canonical https://www.cna.com.tw/news/1 ignored: cna.com.tw is not "
            "the page's domain (rival.com.tw) nor an alias of it (http.canonical_aliases)",
        ),
        # Sharing a public suffix is not sharing a domain.
        (
            "https://one.github.io/a",
            "https://two.github.io/a",
            (),
            "https://one.github.io/a",
            "declared canonical https://two.github.io/a ignored: two.github.io is not the "
            "page's domain (one.github.io) nor an alias of it (http.canonical_aliases)",
        ),
        # The feed's domain is trusted.
        (
            "https://cdn.wirehost.net/s/1",
            "https://wire.example/s/1",
            ("https://feeds.wire.example/rss",),
            "https://wire.example/s/1",
            None,
        ),
        # An alias group of the page's domain.
        ("https://cna.com.tw/a", "https://focustaiwan.tw/b", (), "https://focustaiwan.tw/b", None),
        (
            "https://cna.com.tw/a",
            "ftp://cna.com.tw/b",
            (),
            "https://cna.com.tw/a",
            "declared canonical 'ftp://cna.com.tw/b' is no http(s) URL; ignored",
        ),
    ],
)
def test_judge_canonical(
    fetched: str, declared: str, trusted: tuple[str, ...], expected: str, ignored: str | None
) -> None:
    assert judge_canonical(fetched, declared, trusted, ALIASES) == (expected, ignored)
