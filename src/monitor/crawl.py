"""Fetching article pages in bulk, and what an entry keeps of a page.

:func:`fetch_and_extract` is the machinery of :func:`monitor.pipeline.fetch_articles`:
threads fetch pages politely (one :class:`~monitor.politeness.PoliteFetcher`), processes
extract them when ``http.extract_processes`` asks for it, at most a window of pages is in
flight, and every page fetched comes with its copy to archive; pages are handed on in
:class:`Batches`, each written in one transaction. :func:`page_values` gives an entry's
extraction columns from its page, or from its feed summary when the page is missing or too
short (also what :func:`monitor.pipeline.reextract` writes).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from monitor import language, pages
from monitor.config import Config
from monitor.politeness import PoliteFetcher
from monitor.records import ExtractedPage, FetchResult, PageCounts
from monitor.storage import NewArchivedPage, PendingEntry, Store
from monitor.urls import judge_canonical

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
MIN_PAGE_TEXT = 200  # characters; less than this and the feed summary is the better text


def extract_pool(cfg: Config) -> Executor | None:
    """Processes for extraction (``http.extract_processes``), or None: extract in the
    fetching threads. Spawned, not forked: the parent has threads and sockets open."""
    if cfg.http.extract_processes <= 0:
        return None
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(cfg.http.extract_processes, mp_context=context)


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One target's outcome, as it is handed to be saved: the HTTP result (its body
    dropped), the extracted page, and the page to archive with it."""

    link: str
    result: FetchResult
    page: ExtractedPage | None
    archived: NewArchivedPage | None


class Batches(Generic[T]):
    """Items gathered and written in batches: when ``size`` have come, or ``seconds``
    after the first of a batch came (a slow site still gets its progress saved), when
    the ``cut``-th item of all has come (a stage's halfway point, see
    :func:`monitor.pipeline.checkpoint`), and at the end. ``write`` gets each batch."""

    def __init__(
        self, write: Callable[[list[T]], None], size: int, seconds: float, cut: int = 0
    ) -> None:
        self._write = write
        self._size = size
        self._seconds = seconds
        self._cut = cut
        self._added = 0
        self._items: list[T] = []
        self._since = 0.0

    def add(self, item: T) -> None:
        if not self._items:
            self._since = time.monotonic()
        self._items.append(item)
        self._added += 1
        if self._added == self._cut:
            self.flush()
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if len(self._items) >= self._size or (
            self._items and time.monotonic() - self._since >= self._seconds
        ):
            self.flush()

    def flush(self) -> None:
        if self._items:
            items, self._items = self._items, []
            self._write(items)


def _fetch(
    url: str, fetcher: PoliteFetcher, *, extract: bool, archive: bool
) -> tuple[pages.PageOutcome, NewArchivedPage | None]:
    """Fetch (and maybe extract) one page in a worker thread; the copy to archive is
    compressed here too, outside the pipeline lock."""
    outcome = pages.fetch_page(url, fetcher, extract=extract)
    result = outcome.result
    if not (archive and result.ok):
        return outcome, None
    archived = NewArchivedPage.of(
        result.url,
        result.final_url,
        result.http_status,
        dict(result.headers),
        result.body,
        outcome.fetched_at,
    )
    return outcome, archived


# How often, at most, the fetching loop looks whether a batch is due.
TICK_SECONDS = 0.25


def fetch_and_extract(
    cfg: Config, targets: dict[str, str], save: Batches[FetchedPage]
) -> PageCounts:
    """Fetch every target (canonical link → URL to fetch) in threads and extract each
    page (in those threads, or in processes), handing each outcome to ``save`` as it
    comes (which writes them in batches); return how many pages came and how many
    failed. At most a window of pages is in flight, so memory stays bounded however many
    pages a run has."""
    if not targets:  # nothing to fetch: no TLS context, threads or extraction processes
        return PageCounts(pages_ok=0, pages_failed=0)
    todo = iter(targets.items())
    ok = failed = 0
    archive = cfg.http.archive_pages
    with (
        PoliteFetcher(cfg.http) as fetcher,
        ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="page") as pool,
    ):
        extractor = extract_pool(cfg)
        window = 2 * cfg.http.max_concurrency + 2 * cfg.http.extract_processes
        fetching: dict[Future[Any], str] = {}
        extracting: dict[Future[Any], tuple[str, FetchResult, NewArchivedPage | None]] = {}
        try:
            while True:
                while len(fetching) + len(extracting) < window:
                    target = next(todo, None)
                    if target is None:
                        break
                    link, url = target
                    fetch = pool.submit(
                        _fetch, url, fetcher, extract=extractor is None, archive=archive
                    )
                    fetching[fetch] = link
                if not fetching and not extracting:
                    break
                finished, _ = wait(
                    [*fetching, *extracting], timeout=TICK_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in finished:
                    if future in extracting:
                        link, result, archived = extracting.pop(future)
                        save.add(FetchedPage(link, result, future.result(), archived))
                        continue
                    link = fetching.pop(future)
                    outcome, archived = future.result()
                    result = outcome.result
                    if not result.ok:
                        failed += 1
                        save.add(FetchedPage(link, result, None, None))
                        continue
                    ok += 1
                    if extractor is None:
                        page = FetchedPage(link, replace(result, body=b""), outcome.page, archived)
                        save.add(page)
                        continue
                    job = extractor.submit(
                        pages.read_page, result.body, dict(result.headers), result.final_url
                    )
                    extracting[job] = (link, replace(result, body=b""), archived)
                save.flush_if_due()
            save.flush()
        finally:
            if extractor is not None:
                extractor.shutdown(cancel_futures=True)
    return PageCounts(pages_ok=ok, pages_failed=failed)


def page_values(
    page: ExtractedPage | None,
    fallback: str,
    declared: str | None,
    final_url: str,
    link: str,
    *,
    trusted: tuple[str, ...] = (),
    aliases: tuple[tuple[str, ...], ...] = (),
) -> dict[str, Any]:
    """The extraction columns of an entry from a page (or the feed summary).

    The page's declared canonical URL counts only on the page's own registrable domain,
    a ``trusted`` URL's (the feed's) or an alias of one (:func:`judge_canonical`); when
    it is ignored, why is the entry's ``page_error``."""
    use_page = page is not None and len(page.text) >= MIN_PAGE_TEXT
    text = page.text if page is not None and use_page else fallback
    canonical, ignored = link, None
    if page is not None:
        canonical, ignored = judge_canonical(final_url, page.canonical_url, trusted, aliases)
        if ignored is not None:
            LOGGER.info("page %s: %s", final_url, ignored)
    return {
        "canonical_url": canonical,
        "page_error": ignored,
        "page_title": page.title if page is not None else None,
        "text": text,
        "text_source": "page" if use_page else "feed_summary",
        "source": page.site_name if page is not None else None,
        "page_published_at": page.published_at if page is not None else None,
        "page_published_date": page.published_date if page is not None else None,
        "page_language": (
            page.language if page is not None and use_page else language.detect(text, declared)
        ),
    }


def save_page(
    store: Store,
    entry: PendingEntry,
    result: FetchResult,
    page: ExtractedPage | None,
    link_url: str,
    *,
    trusted: tuple[str, ...] = (),
    aliases: tuple[tuple[str, ...], ...] = (),
) -> None:
    values = page_values(
        page,
        entry.summary,
        entry.language,
        result.final_url,
        link_url,
        trusted=trusted,
        aliases=aliases,
    )
    values["page_error"] = result.error or values["page_error"]
    store.save_extraction(entry.id, page_status=result.status, page_url=result.final_url, **values)
