"""Fetching article pages in bulk, and what an entry keeps of a page.

:func:`fetch_and_extract` is the machinery of :func:`monitor.pipeline.fetch_articles`:
threads fetch pages politely (one :class:`~monitor.politeness.PoliteFetcher`), processes
extract them when ``http.extract_processes`` asks for it, at most a window of pages is in
flight, and every page fetched is archived. :func:`page_values` gives an entry's
extraction columns from its page, or from its feed summary when the page is missing or too
short (also what :func:`monitor.pipeline.reextract` writes).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor import language, pages
from monitor.config import Config
from monitor.errors import RejectedItemError
from monitor.politeness import PoliteFetcher
from monitor.records import ExtractedPage, FetchResult, PageCounts
from monitor.storage import PendingEntry, Store
from monitor.urls import judge_canonical

LOGGER = logging.getLogger(__name__)
MIN_PAGE_TEXT = 200  # characters; less than this and the feed summary is the better text


def extract_pool(cfg: Config) -> Executor | None:
    """Processes for extraction (``http.extract_processes``), or None: extract in the
    fetching threads. Spawned, not forked: the parent has threads and sockets open."""
    if cfg.http.extract_processes <= 0:
        return None
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(cfg.http.extract_processes, mp_context=context)


def fetch_and_extract(
    cfg: Config,
    store: Store,
    targets: dict[str, str],
    save: Callable[[str, FetchResult, ExtractedPage | None], None],
    writing: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> PageCounts:
    """Fetch every target (canonical link → URL to fetch) in threads and extract each
    page (in those threads, or in processes), saving results as they come; return how
    many pages came and how many failed. Archiving a page happens inside ``writing()``
    (the pipeline lock; ``save`` takes it itself). At most a window of pages is in flight, so
    memory stays bounded however many pages a run has."""
    todo = iter(targets.items())
    ok = failed = 0
    with (
        PoliteFetcher(cfg.http) as fetcher,
        ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="page") as pool,
    ):
        extractor = extract_pool(cfg)
        window = 2 * cfg.http.max_concurrency + 2 * cfg.http.extract_processes
        fetching: dict[Future[Any], str] = {}
        extracting: dict[Future[Any], tuple[str, FetchResult]] = {}
        try:
            while True:
                while len(fetching) + len(extracting) < window:
                    target = next(todo, None)
                    if target is None:
                        break
                    link, url = target
                    fetching[
                        pool.submit(pages.fetch_page, url, fetcher, extract=extractor is None)
                    ] = link
                if not fetching and not extracting:
                    break
                finished, _ = wait([*fetching, *extracting], return_when=FIRST_COMPLETED)
                for future in finished:
                    if future in extracting:
                        link, result = extracting.pop(future)
                        save(link, result, future.result())
                        continue
                    link = fetching.pop(future)
                    outcome: pages.PageOutcome = future.result()
                    result = outcome.result
                    if not result.ok:
                        failed += 1
                        save(link, result, None)
                        continue
                    ok += 1
                    if cfg.http.archive_pages:
                        with writing():
                            _archive(store, result, outcome.fetched_at)
                    if extractor is None:
                        save(link, result, outcome.page)
                        continue
                    job = extractor.submit(
                        pages.read_page, result.body, dict(result.headers), result.final_url
                    )
                    extracting[job] = (link, replace(result, body=b""))
        finally:
            if extractor is not None:
                extractor.shutdown(cancel_futures=True)
    return PageCounts(pages_ok=ok, pages_failed=failed)


def _archive(store: Store, result: FetchResult, fetched_at: datetime) -> None:
    """Keep the page for ``reextract``; one the database refuses is only not archived."""
    try:
        with store.item(f"archived page {result.final_url[:200]}"):
            store.archive_page(
                result.url,
                result.final_url,
                result.http_status,
                dict(result.headers),
                result.body,
                fetched_at,
            )
    except RejectedItemError as exc:
        LOGGER.warning("%s", exc)


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
