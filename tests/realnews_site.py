"""The two-day real-news scenario as a news site: one RSS feed per outlet and one article
page per item, built from the items of ``tests/eval/realnews`` that carry a
``scenario_day`` (day 1: the eve of the January 2026 Taiwan–US deal, day 2: deal day).

    root = build_site(tmp_path / "site", scenario_items())
    with FixtureSite(root) as site:
        config = write_scenario_config(tmp_path, site, feeds_of(scenario_items()))

The folder is served by :class:`fixture_site.FixtureSite` (``{{BASE}}`` becomes its
URL). Each page carries the outlet as ``og:site_name`` and the item's publication time,
so stored articles keep their outlet and local day (Asia/Taipei).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

from eval_corpus import RealNewsItem, load_realnews
from fixture_site import FixtureSite

TIMEZONE = "Asia/Taipei"
DAY1 = date(2026, 1, 15)
DAY2 = date(2026, 1, 16)
_LANG = {"en": "en", "zh-Hant": "zh-Hant-TW", "zh-Hans": "zh-Hans-CN"}


def scenario_items() -> list[RealNewsItem]:
    """The items of the two-day scenario, oldest first."""
    items = [i for i in load_realnews() if i.scenario_day is not None]
    return sorted(items, key=lambda i: (i.published, i.name))


def outlet_slug(outlet: str) -> str:
    ascii_part = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in outlet)
    ascii_part = "-".join(p for p in ascii_part.split("-") if p)
    digest = hashlib.sha256(outlet.encode("utf-8")).hexdigest()[:6]
    return f"{ascii_part}-{digest}" if ascii_part else f"outlet-{digest}"


def feeds_of(items: Sequence[RealNewsItem]) -> list[tuple[str, str]]:
    """(outlet, feed path) for every outlet of the items, in order of first appearance."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.outlet, f"/feeds/{outlet_slug(item.outlet)}.xml")
    return list(seen.items())


def _paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]


def _page(item: RealNewsItem) -> str:
    url = "{{BASE}}/articles/" + item.name + ".html"
    paras = "\n".join(f"      <p>{escape(p)}</p>" for p in _paragraphs(item.body))
    return f"""<!DOCTYPE html>
<html lang="{_LANG.get(item.language, "en")}">
<head>
  <meta charset="utf-8">
  <title>{escape(item.title)} | {escape(item.outlet)}</title>
  <link rel="canonical" href="{url}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{escape(item.title)}">
  <meta property="og:site_name" content="{escape(item.outlet)}">
  <meta property="article:published_time" content="{item.published.isoformat()}">
</head>
<body>
  <header><a href="/">{escape(item.outlet)}</a></header>
  <main>
    <article>
      <h1>{escape(item.title)}</h1>
{paras}
    </article>
  </main>
  <footer>Contact the newsroom · Terms · Privacy</footer>
</body>
</html>
"""


def _feed(outlet: str, items: Sequence[RealNewsItem]) -> str:
    entries = []
    for item in sorted(items, key=lambda i: i.published, reverse=True):
        lead = _paragraphs(item.body)[0] if item.body.strip() else item.title
        entries.append(
            f"""    <item>
      <title>{escape(item.title)}</title>
      <link>{{{{BASE}}}}/articles/{item.name}.html</link>
      <guid isPermaLink="false">{item.name}</guid>
      <pubDate>{format_datetime(item.published)}</pubDate>
      <description>{escape(lead)}</description>
    </item>
"""
        )
    newest = max(i.published for i in items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{escape(outlet)}</title>
    <link>{{{{BASE}}}}/</link>
    <description>{escape(outlet)} news</description>
    <lastBuildDate>{format_datetime(newest)}</lastBuildDate>
{"".join(entries)}  </channel>
</rss>
"""


def build_site(root: Path, items: Sequence[RealNewsItem]) -> Path:
    """Write the feeds and pages of ``items`` under ``root``; returns ``root``."""
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "articles").mkdir(parents=True, exist_ok=True)
    for item in items:
        (root / "articles" / f"{item.name}.html").write_text(_page(item), encoding="utf-8")
    for outlet, path in feeds_of(items):
        mine = [i for i in items if i.outlet == outlet]
        (root / path.lstrip("/")).write_text(_feed(outlet, mine), encoding="utf-8")
    return root


def write_scenario_config(
    directory: Path,
    site: FixtureSite,
    feeds: Sequence[tuple[str, str]],
    *,
    primary: Sequence[str] = (),
    extra: str = "",
) -> Path:
    """A user config: one feed per outlet (a path on ``site``, or an absolute URL),
    Asia/Taipei days, private addresses allowed; everything else (topic, watch, tracked
    figures, corroboration) as shipped."""
    lines = [
        f"data_dir: {directory / 'var'}",
        f"timezone: {TIMEZONE}",
        "http:",
        "  allow_private_addresses: true",
        "  timeout_seconds: 5",
        "  per_host_delay_seconds: 0",
        "  per_host_concurrency: 8",
        "  backoff_seconds: 0.05",
        "feeds:",
    ]
    for name, path in feeds:
        url = path if "://" in path else site.url(path)  # an absolute URL: another host
        lines += [f"  - name: {_yaml_str(name)}", f"    url: {url}"]
        if name in primary:
            lines.append("    primary: true")
    lines += [
        "alerts:",
        "  recipients: [desk@example.org]",
        "  sender: monitor@example.org",
    ]
    path = directory / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def local_day(moment: datetime) -> date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(TIMEZONE)).date()
