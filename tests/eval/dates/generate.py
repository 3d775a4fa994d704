"""Writes the labelled publication-date pages of this folder (run once; the pages are
committed): ``pages/NNN-kind.html`` and ``gold.tsv`` (file, page URL, gold day or ``-``).

Each page is modelled on how news sites in this field mark dates up: JSON-LD blocks
(sometimes several, the site's WebPage with its own date), Open Graph ``article:`` tags
beside modified times, ``<time>`` bylines with a sidebar of newer stories, ``itemprop``
spans, dates only in the URL, dates only in a byline's text (English and Chinese),
"Updated" lines before "Published" ones, times near midnight in zones east and west of
UTC (where the UTC day is another day), today's date in the masthead (beside a
byline's), and pages with no date at all, or only one in the Persian calendar. The gold
day is the day the publisher printed, in the publisher's zone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
TODAY = date(2026, 12, 2)  # the masthead date on pages that print one
ZONES = [
    ("+08:00", 8),
    ("-05:00", -5),
    ("-04:00", -4),
    ("+09:00", 9),
    ("+00:00", 0),
    ("-08:00", -8),
    ("+05:30", 5.5),
]
OUTLETS = [
    ("Harbor Daily", "harbordaily.example"),
    ("Pacific Ledger", "pacificledger.example"),
    ("Formosa Wire", "formosawire.example"),
    ("Capitol Trade Report", "capitoltrade.example"),
    ("Silicon Strait Times", "siliconstrait.example"),
    ("East Asia Markets", "eamarkets.example"),
]
HEADLINES = [
    "Chipmakers weigh new US plants as tariff talks drag on",
    "Taiwan trade office says semiconductor deal is close",
    "Washington floats 20% levy on imported chips, then pauses",
    "Foundry exports to the US rise for a third month",
    "Lawmakers question subsidy terms for Arizona fabs",
    "Taipei and Washington trade notes on export controls",
    "Chip equipment orders slow as buyers wait on tariffs",
    "Negotiators meet again on reciprocal tariff rate",
    "Packaging plants become the next front in chip talks",
    "Memory makers brace for a new round of US duties",
    "Analysts see limited price impact from chip levy",
    "Taiwan raises US investment pledge in latest offer",
]
PARAGRAPHS = [
    "Officials from both sides met for a second day of talks, according to people briefed "
    "on the meetings, and agreed to keep working on the open points before the next round.",
    "The ministry said it expected the rate on most goods to fall once the agreement is "
    "signed, while the treatment of semiconductors would be settled in a separate annex.",
    "Industry groups have asked for a longer phase-in, saying new capacity takes three to "
    "four years to build and that buyers sign supply contracts well in advance.",
    "Shares of the largest foundry were little changed in Taipei trading after the news, "
    "while equipment suppliers gained on expectations of further US orders.",
    "A spokesperson for the trade representative declined to comment on the timing, saying "
    "only that discussions were constructive and would continue.",
    "Economists noted that exports of servers and chips to the United States have grown "
    "faster than any other category this year, widening the bilateral surplus.",
]
ZH_HEADLINES = [
    "台美關稅談判進入最後階段 半導體另案處理",
    "晶片出口美國連三月成長 業者關注關稅走向",
    "經濟部：對美投資承諾將分階段落實",
]
ZH_PARAGRAPHS = [
    "經濟部官員表示，雙方已就多數項目取得共識，半導體相關條款將另行協商，預計近期再度會談。",
    "業者指出，新廠從規劃到量產需要三到四年，希望關稅措施能有較長的緩衝期。",
]


def _stamp(day: date, hour: int, minute: int, offset: float) -> datetime:
    zone = timezone(timedelta(hours=offset))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _long(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _short(day: date) -> str:
    months = "Jan. Feb. March April May June July Aug. Sept. Oct. Nov. Dec.".split()
    return f"{months[day.month - 1]} {day.day}, {day.year}"


class Page:
    """One generated page: its parts filled in by a kind, then rendered."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.outlet, self.host = rng.choice(OUTLETS)
        self.headline = rng.choice(HEADLINES)
        self.slug = "-".join(self.headline.lower().replace("%", "").split()[:6])
        self.day = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 2870))
        self.url = f"https://www.{self.host}/business/{self.slug}-{index}"
        self.head: list[str] = []
        self.byline = f"<p class='byline'>By {rng.choice(['Mei Chen', 'Tom Hale', 'Ana Ruiz'])}</p>"
        self.sidebar = ""
        self.masthead = ""
        self.footer = f"<footer><p>© {self.outlet}. All rights reserved.</p></footer>"
        self.lang = "en"
        paras = rng.sample(PARAGRAPHS, 3)
        self.body = "".join(f"<p>{p}</p>" for p in paras)

    def ld(self, data: dict[str, object]) -> None:
        self.head.append(f'<script type="application/ld+json">{json.dumps(data)}</script>')

    def meta(self, key: str, value: str, attr: str = "property") -> None:
        self.head.append(f'<meta {attr}="{key}" content="{value}">')

    def related(self, days: list[date]) -> None:
        items = "".join(
            f"<li><a href='/business/story-{i}'>{self.rng.choice(HEADLINES)}</a>"
            f" <time datetime='{d.isoformat()}'>{_short(d)}</time></li>"
            for i, d in enumerate(days)
        )
        self.sidebar = f"<aside class='related'><h3>More stories</h3><ul>{items}</ul></aside>"

    def render(self) -> str:
        head = "".join(self.head)
        return (
            f"<!doctype html><html lang='{self.lang}'><head><meta charset='utf-8'>"
            f"<title>{self.headline} | {self.outlet}</title>"
            f'<meta property="og:site_name" content="{self.outlet}">'
            f'<meta property="og:title" content="{self.headline}">{head}</head>'
            f"<body><header><a href='/'>{self.outlet}</a>{self.masthead}"
            f"<nav><a href='/business'>Business</a> <a href='/tech'>Tech</a></nav></header>"
            f"<main><article><h1>{self.headline}</h1>{self.byline}{self.body}</article>"
            f"{self.sidebar}</main>{self.footer}</body></html>\n"
        )


def _later(page: Page, n: int) -> list[date]:
    return [page.day + timedelta(days=page.rng.randrange(1, 40)) for _ in range(n)]


def jsonld_zone(page: Page) -> date | None:
    """JSON-LD with a time near midnight: the UTC day differs from the printed one."""
    label, offset = page.rng.choice(ZONES[:6])
    hour = page.rng.choice([0, 1, 23, 22]) if offset else page.rng.randrange(8, 20)
    published = _stamp(page.day, hour, page.rng.randrange(60), offset)
    modified = published + timedelta(days=page.rng.randrange(1, 4), hours=3)
    page.ld(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": page.headline,
            "datePublished": _iso(published),
            "dateModified": _iso(modified),
            "publisher": {"@type": "Organization", "name": page.outlet},
        }
    )
    return page.day


def jsonld_graph(page: Page) -> date | None:
    """A @graph with the site's WebPage (dated when the site launched) and the article."""
    published = _stamp(page.day, page.rng.randrange(6, 22), 5, page.rng.choice([8, -5, 0]))
    page.ld(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebSite", "name": page.outlet, "datePublished": "2012-03-01"},
                {
                    "@type": "BreadcrumbList",
                    "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Business"}],
                },
                {
                    "@type": ["NewsArticle"],
                    "headline": page.headline,
                    "datePublished": _iso(published),
                    "dateModified": _iso(published + timedelta(hours=30)),
                },
            ],
        }
    )
    page.related(_later(page, 3))
    return page.day


def jsonld_day_only(page: Page) -> date | None:
    page.ld({"@context": "http://schema.org", "@type": "Article", "datePublished": f"{page.day}"})
    page.masthead = f"<p class='today'>{TODAY:%A}, {_long(TODAY)}</p>"
    return page.day


def open_graph(page: Page) -> date | None:
    """article:published_time beside a later modified time and newer related stories."""
    label, offset = page.rng.choice(ZONES)
    published = _stamp(page.day, page.rng.choice([0, 7, 12, 23]), 30, offset)
    page.meta("article:published_time", _iso(published))
    page.meta("article:modified_time", _iso(published + timedelta(days=2)))
    page.meta("og:updated_time", _iso(published + timedelta(days=2)))
    page.related(_later(page, 4))
    return page.day


def time_byline(page: Page) -> date | None:
    """A ``<time>`` in the byline; the sidebar's ``<time>`` elements are newer."""
    _label, offset = page.rng.choice(ZONES)
    published = _stamp(page.day, page.rng.choice([0, 9, 15, 23]), 10, offset)
    attr = page.rng.choice(["pubdate", "class='published'", "class='timestamp published'"])
    page.byline = (
        "<p class='byline'>By Mei Chen · "
        f"<time datetime='{_iso(published)}' {attr}>{_short(page.day)}</time></p>"
    )
    page.related(_later(page, 3))
    return page.day


def time_plain(page: Page) -> date | None:
    """A plain ``<time>`` in the byline (no pubdate marker), modified date in a meta."""
    page.byline = (
        f"<div class='meta'><time datetime='{page.day}T10:00:00Z'>{_long(page.day)}</time></div>"
    )
    page.meta("article:modified_time", f"{page.day + timedelta(days=5)}T08:00:00Z")
    return page.day


def itemprop(page: Page) -> date | None:
    kind = page.rng.choice(["span", "meta"])
    if kind == "meta":
        page.byline = (
            f"<div itemscope itemtype='https://schema.org/NewsArticle'>"
            f"<meta itemprop='datePublished' content='{page.day}T06:30:00+08:00'>"
            f"<meta itemprop='dateModified' "
            f"content='{page.day + timedelta(days=1)}T06:30:00+08:00'>"
            f"<p class='byline'>By Tom Hale</p></div>"
        )
    else:
        page.byline = (
            f"<p class='byline'>By Tom Hale, <span itemprop='datePublished' "
            f"content='{page.day}'>{_short(page.day)}</span></p>"
        )
    page.related(_later(page, 2))
    return page.day


def url_only(page: Page) -> date | None:
    """The date is only in the URL; the text names other days."""
    style = page.rng.choice(["slash", "compact"])
    if style == "slash":
        page.url = f"https://www.{page.host}/{page.day:%Y/%m/%d}/business/{page.slug}/"
    else:
        page.url = f"https://www.{page.host}/news/{page.day:%Y%m%d}/{page.slug}.html"
    return page.day


def text_byline(page: Page) -> date | None:
    """A date only in the byline's text, in the ways news sites print it."""
    style = page.rng.randrange(4)
    if style == 0:
        line = f"Published {page.day.day} {page.day:%B} {page.day.year}, 14:32 GMT+8"
    elif style == 1:
        line = f"By Ana Ruiz | {_short(page.day)} 10:04 a.m. ET"
    elif style == 2:
        line = f"Posted on {page.day:%Y/%m/%d} 09:15"
    else:
        line = f"{page.day:%A}, {_long(page.day)}"
    page.byline = f"<p class='byline'>{line}</p>"
    return page.day


def updated_first(page: Page) -> date | None:
    """An "Updated" line before the "Published" one; the modified meta is newer too."""
    updated = page.day + timedelta(days=page.rng.randrange(1, 6))
    page.byline = (
        f"<p class='byline'><span>Updated {_short(updated)}</span> · "
        f"<span>Published {_short(page.day)}</span></p>"
    )
    page.meta("article:modified_time", f"{updated}T12:00:00Z")
    page.meta("article:published_time", f"{page.day}T03:00:00+00:00")
    return page.day


def chinese(page: Page) -> date | None:
    """A Chinese-language page: pubdate meta and 發布時間 in the text."""
    page.lang = "zh-Hant"
    page.headline = page.rng.choice(ZH_HEADLINES)
    page.body = "".join(f"<p>{p}</p>" for p in ZH_PARAGRAPHS)
    style = page.rng.randrange(3)
    if style == 0:
        page.meta("pubdate", f"{page.day} 23:40:00", attr="name")
        page.byline = f"<p>發布時間：{page.day} 23:40</p>"
    elif style == 1:
        day = page.day
        page.byline = f"<p>記者王小明／台北報導　{day.year}年{day.month}月{day.day}日</p>"
    else:
        page.meta("article:published_time", f"{page.day}T00:20:00+08:00")
        page.byline = f"<p>{page.day:%Y/%m/%d} 00:20</p>"
    return page.day


def no_date(page: Page) -> date | None:
    """No publication date anywhere (a copyright line at most)."""
    if page.rng.random() < 0.5:
        page.footer = f"<footer><p>© 2015 {page.outlet}</p></footer>"
    return None


def persian_only(page: Page) -> date | None:
    """Only a Persian-calendar date: not a Gregorian day, so no date."""
    year = 1398 + page.rng.randrange(4)
    month, day = page.rng.randrange(1, 9), page.rng.randrange(9)
    page.meta("article:published_time", f"{year}-0{month}-1{day}")
    page.byline = f"<p class='byline'>{year}/0{page.rng.randrange(1, 9)}/12</p>"
    return None


def persian_and_url(page: Page) -> date | None:
    """A Persian-calendar meta date, and the Gregorian day in the URL."""
    persian_only(page)
    page.url = f"https://www.{page.host}/{page.day:%Y/%m/%d}/{page.slug}/"
    return page.day


def masthead_and_byline(page: Page) -> date | None:
    """Today's date in the site's masthead (class "date"), the article's in its byline."""
    page.masthead = f"<div class='header-date'>{TODAY:%A}, {_long(TODAY)}</div>"
    page.byline = f"<div class='article-meta'>By Mei Chen · {_short(page.day)}</div>"
    page.related(_later(page, 2))
    return page.day


KINDS: list[tuple[Callable[[Page], date | None], int]] = [
    (jsonld_zone, 20),
    (jsonld_graph, 12),
    (jsonld_day_only, 10),
    (open_graph, 18),
    (time_byline, 15),
    (time_plain, 10),
    (itemprop, 12),
    (url_only, 12),
    (text_byline, 16),
    (updated_first, 10),
    (chinese, 12),
    (no_date, 10),
    (persian_only, 5),
    (persian_and_url, 5),
    (masthead_and_byline, 10),
]


def main() -> None:
    rng = random.Random(20261202)
    out = HERE / "pages"
    out.mkdir(exist_ok=True)
    rows = ["file\turl\tgold"]
    index = 0
    for kind, count in KINDS:
        for _ in range(count):
            index += 1
            page = Page(rng, index)
            gold = kind(page)
            name = f"{index:03d}-{kind.__name__}.html"
            (out / name).write_text(page.render(), encoding="utf-8")
            rows.append(f"{name}\t{page.url}\t{gold.isoformat() if gold else '-'}")
    (HERE / "gold.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
