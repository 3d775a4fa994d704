"""Feeds: fetch with the safe fetcher, parse the bytes, and turn entries into normalized
:class:`FeedEntry` records. A broken feed is a ``failed`` result with a reason, never an
exception.

* **Formats.** RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed through feedparser; Google
  News search feeds (their links are rewritten to the publisher's URL when the link
  carries it, see :func:`monitor.urls.resolve_google_news`); news sitemaps
  (``kind: sitemap``, ``<url>`` entries with ``<news:news>``) through lxml.
* **Conditional GET.** The ETag and Last-Modified of the last run are sent; a 304 is
  ``unchanged`` and nothing is parsed. A body whose SHA-256 equals the last one is
  ``unchanged`` too, for servers that ignore validators.
* **Hostile XML.** A DOCTYPE that declares entities (billion laughs, external entities
  pointing at ``file:///etc/passwd`` or an internal URL) is cut out before parsing, with
  a warning on the result; nothing is ever expanded or fetched. feedparser's own parsers
  do not expand them either; the cut makes that independent of its internals. Sitemaps
  are parsed with entity resolution and network access off.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup
from lxml import etree

from monitor import limits
from monitor.config import FeedConfig
from monitor.extract import parse_datetime, sniff_charset
from monitor.records import FeedEntry, FeedResult, FeedState, FetchResult
from monitor.text import normalize_line
from monitor.urls import resolve_google_news

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
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.I | re.S)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


class Getter(Protocol):
    """What feeds need of a fetcher (:class:`~monitor.politeness.PoliteFetcher`,
    :class:`~monitor.fetch.Fetcher`)."""

    def get(
        self,
        url: str,
        *,
        accept: str = ...,
        headers: dict[str, str] | None = ...,
        allowed_types: tuple[str, ...] | None = ...,
    ) -> FetchResult: ...


def defuse_xml(body: bytes) -> tuple[bytes, str | None]:
    """``body`` without a DOCTYPE that declares entities, and a warning if one was cut.

    Only ASCII-compatible encodings are scanned here; UTF-16/32 bodies go to feedparser,
    which does not expand entities either.
    """
    if not _ENTITY_DECL.search(body):
        return body, None
    cut, found = _DOCTYPE.subn(b"", body, count=1)
    if not found:
        return body, None
    return cut, "DOCTYPE with entity declarations removed (never expanded: XML bomb or XXE)"


_LEGACY_CJK = frozenset({"gb18030", "big5hkscs", "cp932", "cp949"})
_DECL_ENCODING = re.compile(rb"""(<\?xml[^>]*encoding\s*=\s*["'])([A-Za-z0-9_\-:.]+)""", re.I)


def transcode_legacy(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """A GB2312/GBK, Big5, Shift_JIS or EUC-KR feed re-encoded as UTF-8 with the
    superset codec (see :data:`monitor.extract.SUPERSETS`), so characters outside the
    label's own table survive; the declaration and content type are rewritten to match.
    Other feeds come back as they are: feedparser reads them well."""
    charset = sniff_charset(body, content_type)
    if charset not in _LEGACY_CJK:
        return body, content_type
    text = body.decode(charset, errors="replace")
    out = _DECL_ENCODING.sub(rb"\g<1>utf-8", text.encode("utf-8"), count=1)
    media = (content_type or "application/xml").split(";", 1)[0].strip()
    return out, f"{media}; charset=utf-8"


def _fetchable(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _too_long(link: str, skipped: list[str]) -> bool:
    """Whether ``link`` is longer than a stored link may be; if so, say so in
    ``skipped``. Cut short it would point somewhere else."""
    if len(link) <= limits.URL:
        return False
    skipped.append(
        f"item skipped: link of {len(link)} characters is longer than {limits.URL} ({link[:80]}…)"
    )
    return True


def _validator(value: str | None, limit: int, name: str, url: str) -> str | None:
    """An ETag or Last-Modified to keep for the next conditional GET, or None when it
    could not be sent back as it came (too long, control characters)."""
    if limits.fits(value, limit):
        return value
    LOGGER.warning("feed %s: %s of %d characters not kept", url, name, len(value or ""))
    return None


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


def parse_json_feed(body: bytes, feed: FeedConfig) -> FeedResult:
    """A JSON Feed (1.0 or 1.1): the installed feedparser does not read them."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return FeedResult(feed.name, feed.url, "failed", error=f"not a JSON feed: {exc}")
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        return FeedResult(
            feed.name, feed.url, "failed", error="not a JSON feed: no jsonfeed version"
        )
    fmt = "json" + version.rsplit("/", 1)[1].replace(".", "")
    items = data.get("items") if isinstance(data.get("items"), list) else []
    language = data.get("language") if isinstance(data.get("language"), str) else None
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str) or not link.strip():
            continue
        link = urljoin(feed.url, link.strip())
        link = resolve_google_news(link) or link
        if not _fetchable(link) or _too_long(link, skipped):
            continue
        guid = str(item.get("id") or link)
        if len(guid) > 1500:
            guid = hashlib.sha256(guid.encode()).hexdigest()
        summary = item.get("summary") or item.get("content_text") or item.get("content_html") or ""
        when = item.get("date_published") or item.get("date_modified")
        entries.append(
            FeedEntry(
                feed_name=feed.name,
                guid=guid,
                link=link,
                title=normalize_line(str(item.get("title") or "")),
                summary=_plain(str(summary)),
                published_at=parse_datetime(when) if isinstance(when, str) else None,
                language=feed.language or item.get("language") or language,
            )
        )
    return FeedResult(
        feed.name, feed.url, "ok", entries=tuple(entries), format=fmt, skipped=tuple(skipped)
    )


def parse_feed(body: bytes, feed: FeedConfig, content_type: str | None = None) -> FeedResult:
    """Parse feed bytes; ``failed`` when they hold no feed at all."""
    if body.lstrip()[:1] == b"{" or body.startswith(b"\xef\xbb\xbf{"):
        return parse_json_feed(body, feed)
    headers = {"content-type": content_type} if content_type else {}
    body, defused = defuse_xml(body)
    body, content_type = transcode_legacy(body, content_type)
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    version = parsed.get("version") or None
    if not parsed.entries and (parsed.get("bozo") or not version):
        # A well-formed empty feed is fine; a broken one with nothing usable is not.
        reason = parsed.get("bozo_exception")
        what = "not a feed" if not version else f"broken {version} feed with no entries"
        detail = f": {reason}" if reason else ""
        if defused:
            detail += f" ({defused})"
        return FeedResult(feed.name, feed.url, "failed", error=f"{what}{detail}")
    entries: list[FeedEntry] = []
    skipped: list[str] = []
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
        link = resolve_google_news(link) or link
        if not _fetchable(link):
            continue  # javascript:, mailto:, data:… nothing a page fetch could use
        if _too_long(link, skipped):
            continue
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
    problems = [defused] if defused else []
    if parsed.get("bozo"):
        problems.append(f"parsed with problems: {parsed.get('bozo_exception')}")
    warning = "; ".join(problems) or None
    return FeedResult(
        feed.name,
        feed.url,
        "ok",
        entries=tuple(entries),
        error=warning,
        format=version,
        skipped=tuple(skipped),
    )


def _text(node: Any, path: str) -> str:
    found = node.find(path)
    return normalize_line(found.text or "") if found is not None and found.text else ""


def parse_sitemap(body: bytes, feed: FeedConfig) -> FeedResult:
    """A news sitemap's ``<url>`` entries (title and date from ``<news:news>``)."""
    body, defused = defuse_xml(body)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        return FeedResult(feed.name, feed.url, "failed", error=f"not a sitemap: {exc}")
    if root is None or etree.QName(root).localname != "urlset":
        return FeedResult(feed.name, feed.url, "failed", error="not a sitemap: no <urlset>")
    ns = {"s": SITEMAP_NS, "n": NEWS_NS}
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for url in root.iterfind("s:url", ns):
        loc = _text(url, f"{{{SITEMAP_NS}}}loc")
        if not loc:
            continue
        link = urljoin(feed.url, loc)
        if _too_long(link, skipped):
            continue
        news = url.find("n:news", ns)
        title = _text(news, f"{{{NEWS_NS}}}title") if news is not None else ""
        when = _text(news, f"{{{NEWS_NS}}}publication_date") if news is not None else ""
        language = (
            _text(news, f"{{{NEWS_NS}}}publication/{{{NEWS_NS}}}language")
            if news is not None
            else ""
        )
        entries.append(
            FeedEntry(
                feed_name=feed.name,
                guid=link,
                link=link,
                title=title,
                summary="",
                published_at=parse_datetime(when)
                or parse_datetime(_text(url, f"{{{SITEMAP_NS}}}lastmod")),
                language=feed.language or language or None,
            )
        )
    return FeedResult(
        feed.name,
        feed.url,
        "ok",
        entries=tuple(entries),
        error=defused,
        format="news-sitemap",
        skipped=tuple(skipped),
    )


def fetch_feed(feed: FeedConfig, fetcher: Getter, state: FeedState | None = None) -> FeedResult:
    """Fetch and parse one feed; with ``state``, a conditional GET against the last run."""
    headers: dict[str, str] = {}
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    result = fetcher.get(feed.url, accept=ACCEPT, headers=headers, allowed_types=FEED_TYPES)
    if result.status == "not_modified":
        return FeedResult(
            feed.name,
            feed.url,
            "unchanged",
            http_status=304,
            error=None,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            body_hash=state.body_hash if state else None,
        )
    if not result.ok:
        LOGGER.warning("feed %s failed: %s", feed.url, result.error)
        return FeedResult(
            feed.name,
            feed.url,
            "failed",
            error=result.error or result.status,
            http_status=result.http_status,
        )
    digest = hashlib.sha256(result.body).hexdigest()
    etag = _validator(result.headers.get("etag"), limits.ETAG, "ETag", feed.url)
    modified = _validator(
        result.headers.get("last-modified"), limits.LAST_MODIFIED, "Last-Modified", feed.url
    )
    if state is not None and state.body_hash == digest:
        return FeedResult(
            feed.name,
            feed.url,
            "unchanged",
            http_status=result.http_status,
            etag=etag,
            last_modified=modified,
            body_hash=digest,
        )
    if feed.kind == "sitemap":
        parsed = parse_sitemap(result.body, feed)
    else:
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
        etag=etag,
        last_modified=modified,
        body_hash=digest,
        skipped=parsed.skipped,
    )
