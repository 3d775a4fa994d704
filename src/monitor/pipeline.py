"""The pipeline's stages in order, each a plain function of (config, run date, ids).

    init            migrate the database, load the seed corpus (signatures, mentions, and
                    the tracked figures it states: the known values to compare with)
    collect_feeds   fetch every due feed concurrently (conditional GET; failing feeds back
                    off), record new entries published up to the run date, raise
                    feed-health alerts
    fetch_articles  fetch each new entry's page concurrently and politely (per-host
                    limits, robots.txt, retries), archive it, extract text and metadata
                    (feed summary when the page fails)
    store_articles  drop exact duplicates, mark near-copies of seeds or stored articles
                    (persisted LSH), group copies into stories, keep changed pages as
                    versions, score relevance, store articles
    detect_changes  count watched keywords per story and local day, store every tracked
                    figure read (monitor.detect.figures), apply the watch rules: figure
                    changes once outlets agree (monitor.detect.rules.figure_change), first
                    mention, spike, drop, co-occurrence (monitor.changes); natural keys
                    and a cool-down per keyword and rule
    send_alerts     one digest (or an .eml in the outbox) with every pending alert, the
                    day's new stories and a trend chart, sent at most once: alerts are
                    marked sending first; refused sends stay pending, sends of unknown
                    fate go again after alerts.resend_unknown_after, same Message-ID
    run_day         all of the above, with a summary
    reextract       (by hand) extraction re-run over the archived pages, no network

Airflow tasks call one stage each and pass ids and counts, never bodies. Each stage
works from rows in the database, so a retried or rerun stage never duplicates anything,
and the ids passed along are only hints (what this run did, so the summary can tell
resumed work apart): every stage takes up all the work an earlier, interrupted run left
— entries still ``pending`` or ``extracted``, kept articles never counted, run dates whose
rules were never evaluated. An entry's new state commits with its article row, an
article's counts with its figure alerts (:meth:`Store.transaction`), and every stage holds
the database's pipeline lock (:meth:`Store.exclusive`), so concurrent runs take turns.
Those items are written in batches (``http.write_batch_size`` pages, entries or articles
per transaction, :meth:`Store.batch`), each item a savepoint: one commit per batch, a
refused item fails alone, and a run killed inside a batch leaves nothing of it.
The work behind a stage lives in the module named for it: :mod:`monitor.crawl` fetches and
extracts pages in bulk, :mod:`monitor.keep` decides what each extracted entry is,
:mod:`monitor.sending` sends alert emails at most once, :mod:`monitor.storage` holds every
query.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from time import monotonic
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor import (
    alerts,
    changes,
    crawl,
    dedup,
    feeds,
    health,
    keep,
    limits,
    pages,
    sending,
    signals,
)
from monitor.charts import Trend
from monitor.config import Config, FeedConfig
from monitor.detect.figures import current_figures, read_figures
from monitor.detect.rules import figure_change
from monitor.errors import AlertNotFoundError, DeliveryError, RejectedItemError
from monitor.politeness import PoliteFetcher
from monitor.records import (
    AlertView,
    CollectResult,
    DetectResult,
    Failure,
    FeedEntry,
    FeedResult,
    FetchStageResult,
    StoreResult,
)
from monitor.storage import (
    DedupStore,
    NewArchivedPage,
    NewReading,
    PendingEntry,
    Store,
    StoredArticle,
)
from monitor.text import content_hash, normalize_line, normalize_text
from monitor.urls import canonicalize, resolve_google_news

LOGGER = logging.getLogger(__name__)
# Fault injection for the reliability tests: the process stops itself (SIGSTOP) when it
# reaches the named point ("store:mid"), so a test can kill -9 it exactly there.
PAUSE_ENV = "MONITOR_TEST_PAUSE_AT"
T = TypeVar("T")
# Feeds recorded per transaction by collect_feeds.
COLLECT_BATCH = 200


def open_store(cfg: Config) -> Store:
    return Store(cfg.db_url)


def checkpoint(point: str) -> None:
    """Stop this process at ``point`` when ``MONITOR_TEST_PAUSE_AT`` names it (tests
    only: ``kill -9`` it there, or ``SIGCONT`` to go on)."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    sys.stderr.write(f"{PAUSE_ENV}: stopped at {point} (pid {os.getpid()})\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP)


def _halfway(done: int, total: int) -> bool:
    return done == max(1, total // 2)


@contextmanager
def _stage(cfg: Config, purpose: str = "use") -> Iterator[Store]:
    """The store of one stage, with the pipeline lock held until the stage ends."""
    store = open_store(cfg)
    try:
        with store.exclusive(purpose):
            yield store
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class InitStats:
    seeds_loaded: int
    seeds_total: int


def init(cfg: Config) -> InitStats:
    """Create or migrate the database and load every file of the seed folder."""
    with _stage(cfg, "migrate") as store:  # concurrent inits take turns
        return _init(cfg, store)


def _init(cfg: Config, store: Store) -> InitStats:
    """What :func:`init` does, holding the lock that makes concurrent inits take turns."""
    store.migrate()
    dstore = DedupStore(store, dedup.BandLayout.for_config(cfg.dedup))
    keep.index_documents(cfg, dstore)
    files = sorted(p for p in Path(cfg.seeds_dir).glob("*") if p.is_file())
    loaded = 0
    for path in files:
        raw = normalize_text(path.read_text(encoding="utf-8", errors="replace"))
        if not raw:
            LOGGER.warning("seed %s is empty; skipped", path)
            continue
        title = normalize_line(raw.split("\n", 1)[0])[:500]
        sig = dedup.fingerprint(
            raw, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
        )
        with store.transaction():  # a seed, its signature, counts and readings together
            seed_id, created = store.add_seed(
                path.name, title, raw, content_hash(raw), sig.to_bytes()
            )
            if created:
                dstore.add_signature("seed", seed_id, None, sig)
            doc_key = f"seed:{seed_id}"
            if created or not store.has_mentions(doc_key):
                counts = signals.count_mentions(raw, cfg.watch)
                store.add_mentions(doc_key, counts, None, seed_id=seed_id)
                loaded += 1
            # Also for seeds loaded before figures were read (a database from 0004).
            _record_readings(store, cfg, raw, doc_key, None, seed_id=seed_id)
    return InitStats(seeds_loaded=loaded, seeds_total=len(files))


def _window(cfg: Config, run_date: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(cfg.timezone)
    end = datetime.combine(run_date + timedelta(days=1), time(0), zone).astimezone(UTC)
    start = end - timedelta(days=1 + cfg.http.lookback_days)
    return start, end


def _in_window(entry: FeedEntry, start: datetime, end: datetime) -> bool:
    if entry.published_at is None:
        return True  # undated items are taken when first seen
    return start <= entry.published_at < end


def shard_of(url: str, shards: int) -> int:
    """The shard of a URL's host, the same in every process (CRC-32 of the host name):
    every URL of one host falls in one shard, so its politeness limits and robots.txt
    stay with one fetcher."""
    host = (urlsplit(url).hostname or "").lower()
    return zlib.crc32(host.encode("utf-8")) % shards


def collect_feeds(
    cfg: Config, run_date: date, shard: int | None = None, shards: int = 1
) -> CollectResult:
    """Fetch and parse every due feed concurrently (conditional GET); record each entry of
    the run's window once; raise feed-health alerts.

    With ``shard``, only the feeds whose host falls in that one of ``shards`` shards
    (:func:`shard_of`), and no feed-health alerts: :func:`collect_done` raises them once
    every shard is done. Feeds are fetched without the pipeline lock; it is held only
    while their entries are written: :data:`COLLECT_BATCH` feeds per transaction, each
    feed in a savepoint of its own (one the database refuses fails alone)."""
    start, end = _window(cfg, run_date)
    ok = failed = unchanged = skipped = entries = 0
    failures: list[Failure] = []
    new_ids: list[int] = []
    mine = [f for f in cfg.feeds if shard is None or shard_of(f.url, shards) == shard]
    store = open_store(cfg)
    try:
        states = store.feed_states()
        due = [f for f in mine if health.is_due(states.get(f.url), run_date)]
        due_urls = {f.url for f in due}  # feeds are known by URL (and model == is slow)
        for feed in mine:
            if feed.url not in due_urls:
                state = states[feed.url]
                skipped += 1
                failures.append(
                    Failure(
                        feed.name,
                        f"backing off after {state.consecutive_failures} failed runs; "
                        f"next attempt on {state.next_attempt_on}",
                    )
                )
        with (
            PoliteFetcher(cfg.http) as fetcher,
            ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="feed") as pool,
        ):
            results = list(pool.map(lambda f: feeds.fetch_feed(f, fetcher, states.get(f.url)), due))
        fetched = list(zip(due, results, strict=True))
        with store.exclusive():
            # One transaction per batch of feeds (a commit per feed costs more than the
            # rest of a warm rerun), a savepoint per feed inside it: a feed whose values
            # the database refuses fails alone, its batch goes on.
            for first in range(0, len(fetched), COLLECT_BATCH):
                holds_middle = first < max(1, len(due) // 2) <= first + COLLECT_BATCH
                with store.batch():  # record_feed's session is a savepoint of the batch
                    store.load_feeds(
                        [feed.url for feed, _ in fetched[first : first + COLLECT_BATCH]]
                    )
                    for done, (feed, result) in enumerate(
                        fetched[first : first + COLLECT_BATCH], first + 1
                    ):
                        accepted = [e for e in result.entries if _in_window(e, start, end)]
                        # Validators are kept only when every entry was taken or is too
                        # old to ever be: a feed holding items for a later run date must
                        # be read again then.
                        later = any(
                            e.published_at and e.published_at >= end for e in result.entries
                        )
                        complete = not later and len(accepted) <= cfg.http.max_entries_per_feed
                        accepted = accepted[: cfg.http.max_entries_per_feed]
                        try:  # a savepoint of its own: refused, the feed fails alone
                            recorded = store.record_feed(
                                result,
                                run_date,
                                feed.language,
                                accepted,
                                keep_validators=complete,
                                max_backoff_days=cfg.feed_health.max_backoff_days,
                            )
                        except RejectedItemError as exc:
                            failed += 1
                            failures.append(Failure(feed.name, str(exc)))
                            continue
                        new_ids += recorded.entry_ids
                        left_out = [*result.skipped, *recorded.rejected]
                        failures += [Failure(feed.name, why) for why in left_out]
                        if result.status in ("ok", "unchanged"):
                            ok += 1
                            unchanged += result.status == "unchanged"
                            entries += len(accepted)
                        else:
                            failed += 1
                            failures.append(Failure(feed.name, result.error or result.status))
                        if _halfway(done, len(due)):
                            checkpoint("collect:batch")  # killed here, none of the batch stays
                if holds_middle:
                    checkpoint("collect:mid")  # the batch with the middle feed is committed
            alert_ids = health.raise_alerts(store, cfg, run_date, end) if shard is None else []
    finally:
        store.close()
    checkpoint("collect:done")
    return CollectResult(
        feeds_ok=ok,
        feeds_failed=failed,
        feeds_unchanged=unchanged,
        feeds_skipped=skipped,
        entries=entries,
        new_entries=len(new_ids),
        entry_ids=tuple(new_ids),
        feed_alert_ids=tuple(alert_ids),
        failures=tuple(failures),
    )


def collect_done(cfg: Config, run_date: date, parts: Sequence[CollectResult]) -> CollectResult:
    """The collect shards' results as one, with the run's feed-health alerts (raised
    once, after every shard)."""
    _start, end = _window(cfg, run_date)
    with _stage(cfg) as store:
        alert_ids = health.raise_alerts(store, cfg, run_date, end)
    merged = CollectResult.merge(parts)
    return replace(merged, feed_alert_ids=(*merged.feed_alert_ids, *alert_ids))


def check_feeds(cfg: Config, targets: Sequence[FeedConfig]) -> list[FeedResult]:
    """Fetch and parse feeds now, concurrently, with no conditional GET and no storage."""
    with (
        PoliteFetcher(cfg.http) as fetcher,
        ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="check") as pool,
    ):
        return list(pool.map(lambda f: feeds.fetch_feed(f, fetcher), targets))


def fetch_articles(
    cfg: Config,
    entry_ids: Sequence[int] | None = None,
    run_date: date | None = None,
    shard: int | None = None,
    shards: int = 1,
) -> FetchStageResult:
    """Fetch the page of every pending entry concurrently and keep its text and metadata.

    The work is every entry still ``pending`` (collected by runs up to ``run_date``, or
    by any run without one), whoever collected it: ``entry_ids``, the ids the collect
    stage of this run recorded, only tell this run's entries from those an earlier,
    interrupted run left (counted as ``resumed``). With ``shard``, only the entries whose
    canonical link's host falls in that one of ``shards`` shards (:func:`shard_of`). An
    URL already stored as an article is not fetched again (unless
    ``http.recheck_articles``); entries sharing a canonical URL share one fetch, and are
    saved in one transaction. Every page fetched is archived (``http.archive_pages``) for
    ``reextract``.

    Pages are fetched without the pipeline lock, so shards fetch side by side; it is held
    while the work is chosen and while each page is written, and an entry another run
    saved meanwhile is left as that run saved it.
    """
    known_urls = resumed = 0
    failures: list[Failure] = []
    done: list[int] = []
    saved = 0  # pages saved so far
    hint = None if entry_ids is None else set(entry_ids)
    groups: dict[str, list[PendingEntry]] = {}
    store = open_store(cfg)
    try:
        with store.exclusive(), store.batch():  # choosing the work: one transaction
            mine: list[tuple[str, PendingEntry]] = []
            for entry in store.pending_entries(until=run_date):
                link_url = canonicalize(resolve_google_news(entry.link) or entry.link)
                if shard is None or shard_of(link_url, shards) == shard:
                    mine.append((link_url, entry))
            if hint is not None:
                resumed = sum(1 for _link, e in mine if e.id not in hint)
            if resumed:
                LOGGER.warning("resuming %d entries an earlier run left pending", resumed)
            links = {link_url for link_url, _entry in mine}
            stored = {} if cfg.http.recheck_articles else store.articles_by_urls(links)
            fetched = {} if cfg.http.recheck_articles else store.entries_with_pages(links)
            for link_url, entry in mine:
                known = stored.get(link_url)
                if known is not None:
                    store.close_entry(
                        entry.id, "duplicate", f"same canonical URL as article #{known}", known
                    )
                    known_urls += 1
                    continue
                earlier = fetched.get(link_url)
                if earlier is not None:
                    store.close_entry(
                        entry.id, "duplicate", f"page already fetched for entry #{earlier}"
                    )
                    known_urls += 1
                    continue
                groups.setdefault(link_url, []).append(entry)

        feed_urls = {feed.name: feed.url for feed in cfg.feeds}

        def write(batch: list[crawl.FetchedPage]) -> None:
            """One batch of pages in one transaction: their archived copies in one
            statement, then each page with the entries sharing it (a savepoint: a page
            the database refuses fails alone, its entries ``failed``)."""
            nonlocal saved
            written: list[PendingEntry] = []
            with store.exclusive(), store.batch():
                _archive(store, [p.archived for p in batch if p.archived is not None])
                still = store.pending_ids([e.id for p in batch for e in groups[p.link]])
                for fetched_page in batch:
                    link_url, result = fetched_page.link, fetched_page.result
                    group = [entry for entry in groups[link_url] if entry.id in still]
                    try:
                        # Entries sharing a page are saved together, or not at all.
                        with store.item(f"page {link_url[:200]}"):
                            for entry in group:
                                feed_url = feed_urls.get(entry.feed_name)
                                crawl.save_page(
                                    store,
                                    entry,
                                    result,
                                    fetched_page.page,
                                    link_url,
                                    trusted=(feed_url,) if feed_url else (),
                                    aliases=cfg.http.alias_groups,
                                )
                    except RejectedItemError as exc:
                        for entry in group:
                            failures.append(_fail_entry(store, entry.id, entry.feed_name, exc))
                        continue
                    written += group
                checkpoint("fetch:batch")  # inside the transaction: killed, nothing stays
            done.extend(entry.id for entry in written)
            before, saved = saved, saved + len(batch)
            if before < max(1, len(groups) // 2) <= saved:
                checkpoint("fetch:mid")

        targets = {link_url: group[0].link for link_url, group in groups.items()}
        batches = crawl.Batches(
            write,
            cfg.http.write_batch_size,
            cfg.http.write_batch_seconds,
            cut=max(1, len(groups) // 2),
        )
        pages_done = crawl.fetch_and_extract(cfg, targets, batches)
    finally:
        store.close()
    checkpoint("fetch:done")
    return FetchStageResult(
        pages_ok=pages_done.pages_ok,
        pages_failed=pages_done.pages_failed,
        known_urls=known_urls,
        resumed=resumed,
        entry_ids=tuple(done),
        failures=tuple(failures),
    )


def _archive(store: Store, archived: list[NewArchivedPage]) -> None:
    """Keep a batch's pages for ``reextract`` in one statement; when the database
    refuses it, page by page, and a page it refuses is only not archived."""
    if not archived:
        return
    try:
        with store.item(f"archive of {len(archived)} pages"):
            store.archive_pages(archived)
        return
    except RejectedItemError:
        LOGGER.info("archiving the batch's %d pages one by one", len(archived))
    for page in archived:
        try:
            with store.item(f"archived page {page.final_url[:200]}"):
                store.archive_pages([page])
        except RejectedItemError as exc:
            LOGGER.warning("%s", exc)


def _fail_entry(store: Store, entry_id: int, feed: str, exc: RejectedItemError) -> Failure:
    """The database refused one entry's values: that entry is ``failed`` with why, and
    the run's summary lists the failure returned; the run goes on."""
    store.fail_entry(entry_id, str(exc))
    return Failure(feed, str(exc))


@dataclass(frozen=True, slots=True)
class ReextractStats:
    pages: int  # distinct archived pages read
    entries: int  # entries whose page it was
    changed: int  # entries (or their articles) whose extraction changed


def reextract(cfg: Config) -> ReextractStats:
    """Re-run decoding and extraction over every archived page, without the network;
    entries and their articles get the new text, title, canonical URL, language and
    publication date (with its source, ``page``, when the page gives one).
    (Relevance and duplicate decisions already taken are not revisited.)"""
    store = open_store(cfg)
    changed = 0
    try:
        archived = store.archived_entries()
        for item in archived:
            page = pages.read_page(item.body, item.headers, item.final_url)
            values = crawl.page_values(
                page,
                "",
                None,
                item.final_url,
                canonicalize(item.final_url),
                trusted=(item.feed_url,),
                aliases=cfg.http.alias_groups,
            )
            if values["text_source"] != "page":
                continue  # the stored feed summary stays the better text
            article: dict[str, Any] = {}
            # Only the page an article was made from may change it: a duplicate's page
            # is another outlet's text.
            if item.article_id is not None and item.owns_article:
                article = {
                    "text": values["text"],
                    "content_hash": content_hash(values["text"]),
                    "language": values["page_language"],
                }
                if values["page_title"]:
                    article["title"] = values["page_title"]
                if values["page_published_at"] is not None:
                    article["published_at"] = values["page_published_at"]
                    article["published_date"] = values["page_published_date"]
                    article["published_source"] = "page"
            if store.update_extraction(item.entry_id, item.article_id, article, **values):
                changed += 1
    finally:
        store.close()
    return ReextractStats(
        pages=len({item.final_url for item in archived}), entries=len(archived), changed=changed
    )


def store_articles(
    cfg: Config, run_date: date, entry_ids: Sequence[int] | None = None
) -> StoreResult:
    """Deduplicate, score and store every extracted entry.

    The work is every entry still ``extracted`` that runs up to ``run_date`` collected
    (``entry_ids``, those the fetch stage of this run extracted, only tell this run's work
    from an interrupted run's, counted as ``resumed``); each is stored under the run date
    that collected it, in one transaction with its new state. Exact rules first (same
    canonical URL — a changed text there is a new version —, same GUID, same content
    hash), then near-duplicates through the persisted LSH bands, then the same
    normalized title from the same outlet. Every article joins a story.
    """
    counts = {"kept": 0, "duplicate": 0, "near_duplicate": 0, "off_topic": 0, "updated": 0}
    failures: list[Failure] = []
    kept: list[int] = []
    updated: list[int] = []
    resumed = 0
    hint = None if entry_ids is None else set(entry_ids)
    with _stage(cfg) as store:
        dstore = DedupStore(store, dedup.BandLayout.for_config(cfg.dedup))
        entries = store.extracted_entries(until=run_date)
        if hint is not None:
            resumed = sum(1 for e in entries if e.id not in hint)
        if resumed:
            LOGGER.warning("resuming %d entries an earlier run left extracted", resumed)
        done = 0
        for batch in _batches(entries, cfg):
            outcomes: list[tuple[str, int | None]] = []
            with store.batch():  # one commit per batch, a savepoint per entry
                for entry in batch:
                    day = entry.run_date or run_date
                    start, _end = _window(cfg, day)
                    try:
                        with store.item(f"entry #{entry.id} ({entry.link[:200]})"):
                            outcomes.append(keep.store_one(store, dstore, cfg, entry, day, start))
                    except RejectedItemError as exc:
                        failures.append(_fail_entry(store, entry.id, entry.feed_name, exc))
                checkpoint("store:commit")  # inside the transaction: killed, nothing stays
            for outcome, article_id in outcomes:
                counts[outcome] += 1
                if outcome == "kept" and article_id is not None:
                    kept.append(article_id)
                elif outcome == "updated" and article_id is not None:
                    updated.append(article_id)
            done, before = done + len(batch), done
            if before < max(1, len(entries) // 2) <= done:
                checkpoint("store:mid")
    checkpoint("store:done")
    return StoreResult(
        new_articles=counts["kept"],
        duplicates=counts["duplicate"] + counts["near_duplicate"],
        near_duplicates=counts["near_duplicate"],
        off_topic=counts["off_topic"],
        updated=counts["updated"],
        resumed=resumed,
        article_ids=tuple(kept),
        updated_article_ids=tuple(updated),
        failures=tuple(failures),
    )


class _Batch(Generic[T]):
    """One batch of ``items`` from ``start``, taken as the caller works through it: at
    most ``http.write_batch_size`` items, none past ``stop``, and no new one once the
    batch has taken ``http.write_batch_seconds``, so slow work still commits its
    progress."""

    def __init__(self, items: Sequence[T], start: int, stop: int, cfg: Config) -> None:
        self._items = items
        self._start = self.end = start
        self._stop = min(stop, start + cfg.http.write_batch_size)
        self._seconds = cfg.http.write_batch_seconds

    def __iter__(self) -> Iterator[T]:
        began = monotonic()
        while self.end < self._stop:
            if self.end > self._start and monotonic() - began >= self._seconds:
                return
            self.end += 1
            yield self._items[self.end - 1]

    def __len__(self) -> int:
        return self.end - self._start


def _batches(items: Sequence[T], cfg: Config) -> Iterator[_Batch[T]]:
    """``items`` in :class:`_Batch` es, each to be worked through (and committed)
    before the next is taken. A batch ends at the halfway item too, so a stage's
    ``…:mid`` checkpoint, after that batch's commit, finds half its work done and half
    left."""
    start, half = 0, max(1, len(items) // 2)
    while start < len(items):
        batch = _Batch(items, start, half if start < half else len(items), cfg)
        yield batch
        if batch.end == start:
            raise RuntimeError("a batch was not worked through")
        start = batch.end


def _day(cfg: Config, when: datetime | None, fallback: date) -> date:
    if when is None:
        return fallback
    return when.astimezone(ZoneInfo(cfg.timezone)).date()


def _record_readings(
    store: Store,
    cfg: Config,
    text: str,
    doc_key: str,
    day: date | None,
    *,
    outlet: str | None = None,
    published_at: datetime | None = None,
    primary: bool = False,
    article_id: int | None = None,
    seed_id: int | None = None,
) -> None:
    """Store every figure reading a document states (attributed or not, in force,
    threatened or old), once: a document already read is left alone."""
    if store.has_readings(doc_key):
        return
    readings = read_figures(text, cfg.watch.tracked)
    chosen = {id(r) for r in current_figures(readings).values()}
    store.add_readings(
        doc_key,
        [
            NewReading(
                r.item,
                r.value,
                r.unit,
                r.status,
                r.old_value,
                r.sentence_no,
                r.sentence,
                r.reason,
                chosen=id(r) in chosen,
            )
            for r in readings
        ],
        outlet=outlet,
        published_at=published_at,
        day=day,
        primary=primary,
        article_id=article_id,
        seed_id=seed_id,
    )


def _figure_changes(store: Store, cfg: Config, run_date: date) -> list[changes.Candidate]:
    """Replay each tracked item's readings as of the run's day; the events of the run's
    window (late stories included) become candidates, natural keys keep them once."""
    start = run_date - timedelta(days=cfg.http.lookback_days)
    titles: dict[int, str] = {}
    found: list[changes.Candidate] = []
    for item in cfg.watch.tracked:
        keyword = cfg.watch.keyword(item.keyword)
        if keyword is None or "figure_change" not in cfg.watch.rules_of(keyword):
            continue
        history = store.item_readings(item.id, item.unit, run_date)
        for event in figure_change.replay(history, cfg.watch.figure_change):
            if not start <= event.day <= run_date:
                continue
            first = event.new[0].article_id
            if first is not None and first not in titles:
                titles.update({a.id: a.title for a in store.articles([first])})
            found.append(
                figure_change.candidate(
                    event,
                    name=item.name,
                    keyword=keyword.name,
                    title=titles.get(first, "") if first is not None else "",
                )
            )
    return found


def detect_changes(
    cfg: Config, run_date: date, article_ids: Sequence[int] | None = None
) -> DetectResult:
    """Count watched keywords and read tracked figures in every kept article never
    counted (this run's, and any an interrupted run left), each article's counts and
    readings committed together; then apply the watch rules for the run's day and for
    any earlier run date whose rules an interrupted run never evaluated: figure changes
    corroborated by independent outlets (monitor.detect.rules.figure_change), first
    mentions, spikes, drops and co-occurrences (monitor.changes). ``article_ids`` (the
    store stage's new articles) only tell resumed work apart."""
    new_alerts: list[int] = []
    hint = None if article_ids is None else set(article_ids)
    resumed = 0
    with _stage(cfg) as store:
        todo = store.articles_to_count(run_date)
        if hint is not None:
            resumed = sum(1 for a in todo if a.id not in hint)
        if resumed:
            LOGGER.warning("resuming %d articles an earlier run never counted", resumed)
        primary_feeds = [f.url for f in cfg.feeds if f.primary]
        primary = store.articles_from_feeds([a.id for a in todo], primary_feeds)
        done = 0
        for batch in _batches(todo, cfg):
            with store.batch():  # one commit per batch; each article's counts together
                for article in batch:
                    day = article.run_date or run_date
                    window_start = _window(cfg, day)[0]
                    with store.transaction():
                        if article.published_at is not None and article.published_at < window_start:
                            # Published before the run's look-back (an old page found
                            # today): not news of this run, so it counts for no day's
                            # keywords and raises nothing.
                            LOGGER.info(
                                "article #%s published %s: older than the run's look-back",
                                article.id,
                                article.published_at.isoformat(),
                            )
                        else:
                            _count_article(store, cfg, article, day, article.id in primary)
                        store.mark_counted(article.id)
            done, before = done + len(batch), done
            if before < max(1, len(todo) // 2) <= done:
                checkpoint("detect:mid")
        for day in sorted({*store.days_to_evaluate(run_date), run_date}):
            # A day's rules in one transaction: its alerts and its mark together.
            with store.batch():
                candidates = _figure_changes(store, cfg, day)
                candidates += changes.detect(store, cfg, day)
                raised = changes.raise_alerts(store, candidates, day, cfg.alerts.cooldown_days)
                store.mark_evaluated(day)
            new_alerts += raised
    checkpoint("detect:done")
    return DetectResult(alerts=len(new_alerts), alert_ids=tuple(new_alerts), resumed=resumed)


def _count_article(
    store: Store, cfg: Config, article: StoredArticle, run_date: date, primary: bool
) -> None:
    """Record one article's keyword mentions and figure readings."""
    doc_key = f"article:{article.id}"
    text = f"{article.title}\n{article.text}"
    day = _day(cfg, article.published_at, run_date)
    if not store.has_mentions(doc_key):  # else counted before signals_at existed
        counts = signals.count_mentions(text, cfg.watch)
        store.add_mentions(doc_key, counts, day, article_id=article.id)
    _record_readings(
        store,
        cfg,
        text,
        doc_key,
        day,
        outlet=article.source,
        published_at=article.published_at,
        primary=primary,
        article_id=article.id,
    )


def send_alerts(cfg: Config, run_date: date) -> sending.SendResult:
    """Send every pending alert in one digest (with the run's new stories and the trend
    chart), at most once (:mod:`monitor.sending`).

    First, emails a killed run left ``sending`` become ``unknown``, and emails of unknown
    fate whose first uncertain attempt began ``alerts.resend_unknown_after`` ago go
    again, byte for byte (same Message-ID). Then the digest: its alerts are marked
    ``sending`` in a committed transaction before the server sees a byte, and end
    ``sent``, ``partial`` (some recipients refused), ``unknown`` (no answer after the
    message went out) or ``pending`` again when the server refused it before taking it
    (``failed`` after ``alerts.max_attempts`` attempts).
    """
    store = open_store(cfg)
    try:
        attempts = sending.recover(store, cfg)
        pending = store.pending_alerts()
        if pending or cfg.alerts.daily_digest:
            with store.batch():  # the digest's reads in one transaction, one snapshot
                message = _digest(store, cfg, run_date, pending)
            attempts += sending.send_digest(store, cfg, message, [a.id for a in pending], run_date)
        return sending.summarize(attempts, store.alerts_in_state("unknown"))
    finally:
        store.close()


def _digest(
    store: Store, cfg: Config, run_date: date, pending: Sequence[AlertView]
) -> EmailMessage:
    stories = store.new_stories(run_date, cfg.alerts.max_stories, since=_window(cfg, run_date)[0])
    keywords = sorted({a.keyword for a in pending if cfg.watch.keyword(a.keyword) is not None})
    trend = None
    if keywords and cfg.alerts.chart:
        days = cfg.alerts.trend_days
        first = store.first_data_day()
        if first is not None:  # no zeros for days before the monitor had any story
            days = max(min(days, (run_date - first).days + 1), 2)
        counts = store.daily_story_counts(keywords, run_date - timedelta(days=days - 1), run_date)
        trend = Trend.from_counts(counts, run_date, days)
    return alerts.compose(
        pending,
        cfg.alerts,
        run_date=run_date,
        stories=stories,
        trend=trend,
        always=cfg.alerts.daily_digest,
        unconfirmed=store.unconfirmed_alerts(run_date),
    )


def resend_alert(cfg: Config, alert_id: int) -> sending.SendResult:
    """Send one alert again, alone, whatever its state (the operator's
    ``monitor alerts resend ID``), as a new message with a Message-ID of its own; it ends
    sent, partial or unknown, or keeps its earlier state with the error."""
    if not 0 < alert_id <= limits.ROW_ID:
        raise AlertNotFoundError(f"no alert #{alert_id}: alert ids run from 1 to {limits.ROW_ID}")
    store = open_store(cfg)
    try:
        alert = store.alert(alert_id)
        if alert is None:
            raise AlertNotFoundError(f"no alert #{alert_id}")
        return sending.resend(store, cfg, alert)
    finally:
        store.close()


def confirm_alert(cfg: Config, alert_id: int) -> sending.Confirmation | None:
    """The operator found the email carrying ``alert_id`` delivered (``monitor alerts
    confirm ID``): it and its alerts of unknown fate are marked sent, so it is not sent
    again. None when the alert is not waiting on an email of unknown fate."""
    store = open_store(cfg)
    try:
        return sending.confirm(store, alert_id)
    finally:
        store.close()


@dataclass
class RunSummary:
    run_date: date
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_unchanged: int = 0  # of feeds_ok: answered 304 or the same body as last time
    feeds_skipped: int = 0  # failing feeds waiting out their back-off
    entries: int = 0
    new_entries: int = 0
    pages_ok: int = 0
    pages_failed: int = 0
    new_articles: int = 0
    duplicates: int = 0
    off_topic: int = 0
    alerts_raised: int = 0
    alerts_sent: int = 0
    delivery: str | None = None
    delivery_error: str | None = None
    failures: list[Failure] = field(default_factory=list)
    # sent | partial | unknown | refused (None: no email); refused addresses with the
    # server's reply; alerts whose email may or may not have arrived.
    delivery_status: str | None = None
    refused_recipients: list[str] = field(default_factory=list)
    alerts_unknown: int = 0
    # Work an earlier, interrupted run left and this one finished: entries it found
    # still pending or extracted, kept articles it found never counted.
    resumed_entries: int = 0
    resumed_articles: int = 0
    # Shards (Airflow tasks "collect_feeds[2]", "fetch_articles[0]") that failed after
    # their retries: their feeds or pages wait for the next run.
    failed_shards: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the runs table, ``monitor run --json`` and XCom."""
        data = asdict(self)
        data["run_date"] = self.run_date.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], run_date: date | None = None) -> RunSummary:
        """A summary read back from :meth:`as_dict` (the runs table); keys a newer
        version added are left out, keys an older one lacked take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["run_date"] = run_date or date.fromisoformat(str(data["run_date"]))
        values["failures"] = [
            Failure(str(f.get("feed", "")), str(f.get("error", "")))
            for f in data.get("failures", [])
        ]
        values["refused_recipients"] = list(data.get("refused_recipients", []))
        values["failed_shards"] = list(data.get("failed_shards", []))
        return cls(**values)


def record_run(cfg: Config, summary: RunSummary) -> None:
    store = open_store(cfg)
    try:
        store.record_run(summary.run_date, summary.as_dict())
    finally:
        store.close()


def send_and_report(
    cfg: Config,
    run_date: date,
    collected: CollectResult,
    fetched: FetchStageResult,
    stored: StoreResult,
    detected: DetectResult,
    *,
    failed_shards: Sequence[str] = (),
    raise_on_delivery_error: bool = True,
) -> RunSummary:
    """Send the pending alerts, record the run's summary, and return it.

    With ``raise_on_delivery_error`` (Airflow) a send that was not a clean success
    (refused, partial, unknown) raises after the summary is recorded, so the task is
    marked failed and retried; the retry cannot duplicate anything (refused alerts are
    pending, partial ones are done, unknown ones wait for ``resend_unknown_after``).
    """
    store = open_store(cfg)
    try:
        with store.exclusive():  # two runs never send the same pending alerts
            sent = send_alerts(cfg, run_date)
    finally:
        store.close()
    checkpoint("send:done")
    summary = RunSummary(
        run_date=run_date,
        feeds_ok=collected.feeds_ok,
        feeds_failed=collected.feeds_failed,
        feeds_unchanged=collected.feeds_unchanged,
        feeds_skipped=collected.feeds_skipped,
        entries=collected.entries,
        new_entries=collected.new_entries,
        pages_ok=fetched.pages_ok,
        pages_failed=fetched.pages_failed,
        new_articles=stored.new_articles,
        duplicates=stored.duplicates + fetched.known_urls,
        off_topic=stored.off_topic,
        alerts_raised=detected.alerts + len(collected.feed_alert_ids),
        alerts_sent=sent.alerts_sent,
        delivery=f"{sent.method}: {sent.detail}" if sent.method else None,
        delivery_error=sent.error,
        failures=[
            *collected.failures,
            *fetched.failures,
            *stored.failures,
            *(Failure(f"shard {name}", "failed after its retries") for name in failed_shards),
        ],
        delivery_status=sent.status,
        refused_recipients=list(sent.refused_recipients),
        alerts_unknown=sent.alerts_unknown,
        resumed_entries=fetched.resumed + stored.resumed,
        resumed_articles=detected.resumed,
        failed_shards=list(failed_shards),
    )
    record_run(cfg, summary)
    if sent.error and raise_on_delivery_error:
        raise DeliveryError(sent.error)
    return summary


def run_day(cfg: Config, run_date: date) -> RunSummary:
    """The whole pipeline for one day (what the DAG runs, in one process: the same
    ``airflow.shards`` shards, one after another). A database
    lost on the way raises :class:`~monitor.errors.StorageError`; run it again and it
    resumes where it stopped."""
    shards = cfg.airflow.shards
    collected = collect_done(
        cfg, run_date, [collect_feeds(cfg, run_date, k, shards) for k in range(shards)]
    )
    fetched = FetchStageResult.merge(
        [fetch_articles(cfg, collected.entry_ids, run_date, k, shards) for k in range(shards)]
    )
    stored = store_articles(cfg, run_date, fetched.entry_ids)
    detected = detect_changes(cfg, run_date, stored.article_ids)
    return send_and_report(
        cfg, run_date, collected, fetched, stored, detected, raise_on_delivery_error=False
    )
