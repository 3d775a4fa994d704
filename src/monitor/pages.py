"""Article pages: fetch one page politely (robots.txt obeyed), decode it, extract it.

Runs in the worker threads of :func:`monitor.crawl.fetch_and_extract` (the
``fetch_articles`` stage); touches no database. A page that fails is an outcome with a
status, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.extract import decode_html, extract_page
from monitor.politeness import PoliteFetcher
from monitor.records import ExtractedPage, FetchResult
from monitor.urls import GOOGLE_NEWS_HOST, publisher_from_google_page

LOGGER = logging.getLogger(__name__)
PAGE_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """What fetching one article URL gave: the HTTP result, and the page when it was
    fetched and could be read."""

    result: FetchResult
    page: ExtractedPage | None
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class PageReading:
    """What the pipeline reads from one file or URL (``monitor extract``): the page, or
    why there is none."""

    source: str  # the file path or URL as given
    url: str  # the URL the page was read as (after redirects; file:// for a file)
    page: ExtractedPage | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        page = self.page
        when = page.published_at if page is not None else None
        day = page.published_date if page is not None else None
        return {
            "source": self.source,
            "url": self.url,
            "error": self.error,
            "title": page.title if page else None,
            "published_at": when.isoformat() if when else None,
            "published_source": "page" if when else None,
            "published_date": day.isoformat() if day else None,
            "language": page.language if page else None,
            "canonical_url": page.canonical_url if page else None,
            "site_name": page.site_name if page else None,
            "text": page.text if page else None,
        }


def read_file(path: Path) -> PageReading:
    """A saved page, read offline: decoded as a fetched page would be (no HTTP charset)."""
    url = path.resolve().as_uri()
    try:
        body = path.read_bytes()
    except OSError as exc:
        return PageReading(str(path), url, None, f"cannot read {path}: {exc.strerror or exc}")
    return PageReading(str(path), url, read_page(body, {}, url))


def read_url(url: str, fetcher: PoliteFetcher) -> PageReading:
    """A page fetched as a run fetches it (robots.txt, address and size guards)."""
    outcome = fetch_page(url, fetcher)
    if outcome.page is None:
        return PageReading(url, outcome.result.final_url, None, outcome.result.error)
    return PageReading(url, outcome.result.final_url, outcome.page)


def read_page(body: bytes, headers: Mapping[str, str], url: str) -> ExtractedPage:
    """Decode and extract stored or fetched bytes (also what ``monitor reextract`` runs)."""
    return extract_page(decode_html(body, headers.get("content-type")), url)


def fetch_page(
    url: str, fetcher: PoliteFetcher, *, extract: bool = True, hops: int = 1
) -> PageOutcome:
    """Fetch one article page, and extract it unless ``extract`` is false (the caller
    extracts elsewhere, with :func:`read_page`). A Google News page is followed to the
    publisher's page it points at."""
    fetched_at = datetime.now(UTC)
    result = fetcher.get(url, accept=ACCEPT, allowed_types=PAGE_TYPES, robots=True)
    if not result.ok:
        LOGGER.warning("page %s: %s", url, result.error)
        return PageOutcome(result, None, fetched_at)
    if hops > 0 and (urlsplit(result.final_url).hostname or "").lower() == GOOGLE_NEWS_HOST:
        html = decode_html(result.body, result.headers.get("content-type"))
        publisher = publisher_from_google_page(html, result.final_url)
        if publisher is not None:
            LOGGER.info("Google News page %s points to %s", result.final_url, publisher)
            return fetch_page(publisher, fetcher, extract=extract, hops=hops - 1)
    page = read_page(result.body, result.headers, result.final_url) if extract else None
    return PageOutcome(result, page, fetched_at)
