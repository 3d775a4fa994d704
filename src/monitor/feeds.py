"""Feeds: fetch with the safe fetcher, parse the bytes with feedparser, and turn entries
into normalized :class:`FeedEntry` records. A broken feed is a ``failed`` result with a
reason, never an exception."""

from __future__ import annotations

import calendar
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from bs4 import BeautifulSoup

from monitor.config import FeedConfig
from monitor.fetch import Fetcher
from monitor.records import FeedEntry, FeedResult
from monitor.text import normalize_line

LOGGER = logging.getLogger(__name__)
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "application/json",
    "text/html",  # many servers label feeds text/html; feedparser decides
    "text/plain",
    "application/octet-stream",
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _plain(html: str) -> str:
    if "<" not in html:
        return normalize_line(html)
    return normalize_line(BeautifulSoup(html, "lxml").get_text(" "))


def parse_feed(body: bytes, feed: FeedConfig, content_type: str | None = None) -> FeedResult:
    """Parse feed bytes; ``failed`` when they hold no feed at all."""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    version = parsed.get("version") or None
    if not parsed.entries and (parsed.get("bozo") or not version):
        # A well-formed empty feed is fine; a broken one with nothing usable is not.
        reason = parsed.get("bozo_exception")
        what = "not a feed" if not version else f"broken {version} feed with no entries"
        detail = f": {reason}" if reason else ""
        return FeedResult(feed.name, feed.url, "failed", error=f"{what}{detail}")
    entries: list[FeedEntry] = []
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link:
            for candidate in item.get("links", []):
                if candidate.get("href"):
                    link = candidate["href"]
                    break
        if not link:
            continue  # nothing to fetch, nothing to cite
        link = urljoin(feed.url, link.strip())
        title = normalize_line(item.get("title") or "")
        guid = item.get("id") or link
        if len(guid) > 1500:
            guid = hashlib.sha256(guid.encode()).hexdigest()
        summary = _plain(item.get("summary") or item.get("description") or "")
        entries.append(
            FeedEntry(
                feed_name=feed.name,
                guid=guid,
                link=link,
                title=title,
                summary=summary,
                published_at=_when(item),
                language=feed.language or parsed.feed.get("language") or None,
            )
        )
    warning = None
    if parsed.get("bozo"):
        warning = f"parsed with problems: {parsed.get('bozo_exception')}"
    return FeedResult(
        feed.name, feed.url, "ok", entries=tuple(entries), error=warning, format=version
    )


def fetch_feed(feed: FeedConfig, fetcher: Fetcher) -> FeedResult:
    """Fetch and parse one feed."""
    result = fetcher.get(feed.url, accept=ACCEPT, allowed_types=FEED_TYPES)
    if not result.ok:
        LOGGER.warning("feed %s failed: %s", feed.url, result.error)
        return FeedResult(
            feed.name,
            feed.url,
            "failed",
            error=result.error or result.status,
            http_status=result.http_status,
        )
    parsed = parse_feed(result.body, feed, result.headers.get("content-type"))
    if parsed.status != "ok":
        LOGGER.warning("feed %s failed: %s", feed.url, parsed.error)
    return FeedResult(
        parsed.name,
        parsed.url,
        parsed.status,
        entries=parsed.entries,
        error=parsed.error,
        format=parsed.format,
        http_status=result.http_status,
    )
