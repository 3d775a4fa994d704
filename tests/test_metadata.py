"""Page metadata (monitor.metadata): publication dates kept with the zone they were
published in, refused when implausible, measured on the labelled pages of
tests/eval/dates; headlines without the site's name."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from conftest import ROOT

from monitor.extract import extract_page
from monitor.metadata import parse_published, strip_site_name

BODY = "<p>" + "Officials met again on the chip tariff and agreed to keep talking. " * 8 + "</p>"


def _page(head: str = "", body: str = "", title: str = "Chip talks resume") -> str:
    return (
        f"<html lang='en'><head><title>{title}</title>{head}</head>"
        f"<body><article><h1>Chip talks resume</h1>{body}{BODY}</article></body></html>"
    )


def test_labelled_pages_get_the_exact_day():
    spec = importlib.util.spec_from_file_location("eval_dates", ROOT / "bench" / "eval_dates.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_dates"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    items = module.labelled()
    assert len(items) >= 150
    accuracy, misses = module.accuracy(module.pipeline_day)
    assert accuracy >= 0.95, misses


def test_a_late_evening_date_keeps_its_zone_and_its_printed_day():
    html = _page(
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2026-11-02T23:30:00-05:00", '
        '"dateModified": "2026-11-04T09:00:00-05:00"}</script>'
    )
    page = extract_page(html, "https://news.example/a")
    assert page.published_at == datetime(2026, 11, 3, 4, 30, tzinfo=UTC)
    assert page.published_at is not None
    assert page.published_at.utcoffset() == timedelta(hours=-5)
    assert page.published_date == date(2026, 11, 2)  # not the UTC day, 3 November


def test_open_graph_time_wins_over_a_newer_sidebar_and_modified_time():
    html = _page(
        '<meta property="article:modified_time" content="2026-11-09T10:00:00+08:00">'
        '<meta property="article:published_time" content="2026-11-03T00:20:00+08:00">',
        "<aside><time datetime='2026-11-20'>Nov. 20</time></aside>",
    )
    page = extract_page(html, "https://news.example/a")
    assert page.published_at is not None
    assert page.published_at.isoformat() == "2026-11-03T00:20:00+08:00"


@pytest.mark.parametrize(
    ("html", "url", "expected"),
    [
        (
            _page(body="<p class='byline'>By Ana Ruiz | Nov. 5, 2024 10:04 a.m. ET</p>"),
            "",
            "2024-11-05",
        ),
        (_page(body="<p>記者王小明／台北報導　2025年3月10日</p>"), "", "2025-03-10"),
        (_page(), "https://news.example/2023/04/07/chips/", "2023-04-07"),
        (_page(body="<footer>© 2015 Harbor Daily</footer>"), "", None),
        (_page('<meta property="article:published_time" content="1399-08-15">'), "", None),
        (_page('<meta name="date" content="2099-01-01T00:00:00Z">'), "", None),
    ],
)
def test_printed_url_and_refused_dates(html, url, expected):
    page = extract_page(html, url or "https://news.example/x")
    day = page.published_date
    assert (day.isoformat() if day else None) == expected


def test_parse_published_keeps_offsets_and_refuses_absurd_years():
    assert parse_published("2026-11-02T09:30:00+09:00") == datetime(
        2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=9))
    )
    assert parse_published("2026-11-02") == datetime(2026, 11, 2, 12, tzinfo=UTC)
    assert parse_published("1399/08/15") is None
    assert parse_published("not a date") is None


@pytest.mark.parametrize(
    ("title", "site", "url", "expected"),
    [
        (
            "Canada beat US in final - Sportsnet",
            None,
            "https://www.sportsnet.ca/a",
            "Canada beat US in final",
        ),
        (
            "Taiwan ups US investment | Reuters",
            None,
            "https://www.reuters.com/x",
            "Taiwan ups US investment",
        ),
        ("Harbor Daily | Chip levy paused", "Harbor Daily", None, "Chip levy paused"),
        (
            "Chips - what the levy means",
            "Harbor Daily",
            "https://harbordaily.example/",
            "Chips - what the levy means",
        ),
        (
            "TSMC: Q3 results beat estimates",
            None,
            "https://www.reuters.com/x",
            "TSMC: Q3 results beat estimates",
        ),
    ],
)
def test_site_names_are_cut_from_titles(title, site, url, expected):
    assert strip_site_name(title, site, url) == expected


def test_headline_is_where_og_title_and_h1_agree():
    html = _page(
        '<meta property="og:title" content="Chip talks resume - Pacific Ledger">'
        '<meta property="og:site_name" content="Pacific Ledger">',
        title="Chip talks resume - Pacific Ledger | Business",
    )
    assert extract_page(html, "https://pacificledger.example/a").title == "Chip talks resume"
