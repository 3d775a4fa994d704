"""The pipeline's stages in order, each a plain function of (config, run date, ids).

    init            migrate the database, load the seed corpus (signatures, mentions, figures)
    collect_feeds   fetch every due feed concurrently (conditional GET; failing feeds back
                    off), record new entries published up to the run date, raise
                    feed-health alerts
    fetch_articles  fetch each new entry's page concurrently and politely (per-host
                    limits, robots.txt, retries), archive it, extract text and metadata
                    (feed summary when the page fails)
    store_articles  drop exact duplicates, mark near-copies of seeds or stored articles,
                    score relevance, store articles
    detect_changes  count watched keywords, raise first-mention and figure-change alerts
    send_alerts     one email (or an .eml in the outbox) with every pending alert
    run_day         all of the above, with a summary
    reextract       (by hand) extraction re-run over the archived pages, no network

Airflow tasks call one stage each and pass ids and counts, never bodies. Each stage
works from rows in the database, so a retried or rerun stage never duplicates anything.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor import alerts, dedup, extract, feeds, health, pages, relevance, signals
from monitor.config import Config, FeedConfig
from monitor.errors import DeliveryError
from monitor.politeness import PoliteFetcher
from monitor.records import ExtractedPage, FeedEntry, FeedResult, FetchResult
from monitor.storage import ExtractedEntry, PendingEntry, Store
from monitor.text import content_hash, normalize_line, normalize_text, sentences
from monitor.urls import canonicalize, choose_canonical, resolve_google_news

LOGGER = logging.getLogger(__name__)
MIN_PAGE_TEXT = 200  # characters; less than this and the feed summary is the better text
SEED_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # seeds are older than any article


def open_store(cfg: Config) -> Store:
    return Store(cfg.db_url)


@dataclass(frozen=True, slots=True)
class InitStats:
    seeds_loaded: int
    seeds_total: int


def init(cfg: Config) -> InitStats:
    """Create or migrate the database and load every file of the seed folder."""
    store = open_store(cfg)
    try:
        store.migrate()
        files = sorted(p for p in Path(cfg.seeds_dir).glob("*") if p.is_file())
        loaded = 0
        for path in files:
            raw = normalize_text(path.read_text(encoding="utf-8", errors="replace"))
            if not raw:
                LOGGER.warning("seed %s is empty; skipped", path)
                continue
            title = normalize_line(raw.split("\n", 1)[0])[:500]
            sig = dedup.signature(
                raw, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
            )
            seed_id, created = store.add_seed(
                path.name, title, raw, content_hash(raw), dedup.to_bytes(sig)
            )
            doc_key = f"seed:{seed_id}"
            if created or not store.has_mentions(doc_key):
                _record_signals(store, cfg, raw, doc_key, None, SEED_EPOCH, seed_id=seed_id)
                loaded += 1
        return InitStats(seeds_loaded=loaded, seeds_total=len(files))
    finally:
        store.close()


def _window(cfg: Config, run_date: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(cfg.timezone)
    end = datetime.combine(run_date + timedelta(days=1), time(0), zone).astimezone(UTC)
    start = end - timedelta(days=1 + cfg.http.lookback_days)
    return start, end


def _in_window(entry: FeedEntry, start: datetime, end: datetime) -> bool:
    if entry.published_at is None:
        return True  # undated items are taken when first seen
    return start <= entry.published_at < end


def collect_feeds(cfg: Config, run_date: date) -> dict[str, Any]:
    """Fetch and parse every due feed concurrently (conditional GET); record each entry of
    the run's window once; raise feed-health alerts."""
    start, end = _window(cfg, run_date)
    stats: dict[str, Any] = {
        "feeds_ok": 0,
        "feeds_failed": 0,
        "feeds_unchanged": 0,
        "feeds_skipped": 0,
        "entries": 0,
        "failures": [],
    }
    new_ids: list[int] = []
    store = open_store(cfg)
    try:
        states = store.feed_states()
        due = [f for f in cfg.feeds if health.is_due(states.get(f.url), run_date)]
        for feed in cfg.feeds:
            if feed not in due:
                state = states[feed.url]
                stats["feeds_skipped"] += 1
                stats["failures"].append(
                    {
                        "feed": feed.name,
                        "error": f"backing off after {state.consecutive_failures} failed runs; "
                        f"next attempt on {state.next_attempt_on}",
                    }
                )
        with (
            PoliteFetcher(cfg.http) as fetcher,
            ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="feed") as pool,
        ):
            results = list(pool.map(lambda f: feeds.fetch_feed(f, fetcher, states.get(f.url)), due))
        for feed, result in zip(due, results, strict=True):
            accepted = [e for e in result.entries if _in_window(e, start, end)]
            # Validators are kept only when every entry was taken or is too old to ever
            # be: a feed holding items for a later run date must be read again then.
            later = any(e.published_at and e.published_at >= end for e in result.entries)
            complete = not later and len(accepted) <= cfg.http.max_entries_per_feed
            accepted = accepted[: cfg.http.max_entries_per_feed]
            new_ids += store.record_feed(
                result,
                run_date,
                feed.language,
                accepted,
                keep_validators=complete,
                max_backoff_days=cfg.feed_health.max_backoff_days,
            )
            if result.status in ("ok", "unchanged"):
                stats["feeds_ok"] += 1
                stats["feeds_unchanged"] += result.status == "unchanged"
                stats["entries"] += len(accepted)
            else:
                stats["feeds_failed"] += 1
                stats["failures"].append({"feed": feed.name, "error": result.error})
        stats["feed_alert_ids"] = health.raise_alerts(store, cfg, run_date, end)
    finally:
        store.close()
    stats["new_entries"] = len(new_ids)
    stats["entry_ids"] = new_ids
    return stats


def check_feeds(cfg: Config, targets: Sequence[FeedConfig]) -> list[FeedResult]:
    """Fetch and parse feeds now, concurrently, with no conditional GET and no storage."""
    with (
        PoliteFetcher(cfg.http) as fetcher,
        ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="check") as pool,
    ):
        return list(pool.map(lambda f: feeds.fetch_feed(f, fetcher), targets))


def fetch_articles(cfg: Config, entry_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """Fetch the page of every pending entry concurrently and keep its text and metadata.

    An URL already stored as an article is not fetched again (unless
    ``http.recheck_articles``); entries of one run sharing a canonical URL share one
    fetch. Every page fetched is archived (``http.archive_pages``) for ``reextract``.
    """
    stats: dict[str, Any] = {"pages_ok": 0, "pages_failed": 0, "known_urls": 0}
    done: list[int] = []
    store = open_store(cfg)
    try:
        groups: dict[str, list[PendingEntry]] = {}
        for entry in store.pending_entries(entry_ids):
            link_url = canonicalize(resolve_google_news(entry.link) or entry.link)
            if not cfg.http.recheck_articles:
                known = store.article_by_url(link_url)
                if known is not None:
                    store.close_entry(
                        entry.id, "duplicate", f"same canonical URL as article #{known}", known
                    )
                    stats["known_urls"] += 1
                    continue
                fetched = store.entry_with_page(link_url)
                if fetched is not None:
                    store.close_entry(
                        entry.id, "duplicate", f"page already fetched for entry #{fetched}"
                    )
                    stats["known_urls"] += 1
                    continue
            groups.setdefault(link_url, []).append(entry)

        def save(link_url: str, result: FetchResult, page: ExtractedPage | None) -> None:
            for entry in groups[link_url]:
                _save_page(store, entry, result, page, link_url)
                done.append(entry.id)

        targets = {link_url: group[0].link for link_url, group in groups.items()}
        _fetch_and_extract(cfg, store, targets, stats, save)
    finally:
        store.close()
    stats["entry_ids"] = done
    return stats


def _extractor(cfg: Config) -> Executor | None:
    """Processes for extraction (``http.extract_processes``), or None: extract in the
    fetching threads. Spawned, not forked: the parent has threads and sockets open."""
    if cfg.http.extract_processes <= 0:
        return None
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(cfg.http.extract_processes, mp_context=context)


def _fetch_and_extract(
    cfg: Config,
    store: Store,
    targets: dict[str, str],
    stats: dict[str, Any],
    save: Callable[[str, FetchResult, ExtractedPage | None], None],
) -> None:
    """Fetch every target (canonical link → URL to fetch) in threads and extract each
    page (in those threads, or in processes), saving results as they come. At most a
    window of pages is in flight, so memory stays bounded however many pages a run has."""
    todo = iter(targets.items())
    with (
        PoliteFetcher(cfg.http) as fetcher,
        ThreadPoolExecutor(cfg.http.max_concurrency, thread_name_prefix="page") as pool,
    ):
        extractor = _extractor(cfg)
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
                        stats["pages_failed"] += 1
                        save(link, result, None)
                        continue
                    stats["pages_ok"] += 1
                    if cfg.http.archive_pages:
                        store.archive_page(
                            result.url,
                            result.final_url,
                            result.http_status,
                            dict(result.headers),
                            result.body,
                            outcome.fetched_at,
                        )
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


def _page_values(
    page: ExtractedPage | None, fallback: str, language: str | None, final_url: str, link: str
) -> dict[str, Any]:
    """The extraction columns of an entry from a page (or the feed summary)."""
    use_page = page is not None and len(page.text) >= MIN_PAGE_TEXT
    text = page.text if page is not None and use_page else fallback
    return {
        "canonical_url": (
            choose_canonical(final_url, page.canonical_url) if page is not None else link
        ),
        "page_title": page.title if page is not None else None,
        "text": text,
        "text_source": "page" if use_page else "feed_summary",
        "source": page.site_name if page is not None else None,
        "page_published_at": page.published_at if page is not None else None,
        "page_language": (
            page.language
            if page is not None and use_page
            else extract.detect_language(text, language)
        ),
    }


def _save_page(
    store: Store,
    entry: PendingEntry,
    result: FetchResult,
    page: ExtractedPage | None,
    link_url: str,
) -> None:
    store.save_extraction(
        entry.id,
        page_status=result.status,
        page_error=result.error,
        page_url=result.final_url,
        **_page_values(page, entry.summary, entry.language, result.final_url, link_url),
    )


@dataclass(frozen=True, slots=True)
class ReextractStats:
    pages: int  # distinct archived pages read
    entries: int  # entries whose page it was
    changed: int  # entries (or their articles) whose extraction changed


def reextract(cfg: Config) -> ReextractStats:
    """Re-run decoding and extraction over every archived page, without the network;
    entries and their articles get the new text, title, canonical URL and language.
    (Relevance and duplicate decisions already taken are not revisited.)"""
    store = open_store(cfg)
    changed = 0
    try:
        archived = store.archived_entries()
        for item in archived:
            page = pages.read_page(item.body, item.headers, item.final_url)
            values = _page_values(page, "", None, item.final_url, canonicalize(item.final_url))
            if values["text_source"] != "page":
                continue  # the stored feed summary stays the better text
            article: dict[str, Any] = {}
            if item.article_id is not None:
                article = {
                    "text": values["text"],
                    "content_hash": content_hash(values["text"]),
                    "language": values["page_language"],
                }
                if values["page_title"]:
                    article["title"] = values["page_title"]
            if store.update_extraction(item.entry_id, item.article_id, article, **values):
                changed += 1
    finally:
        store.close()
    return ReextractStats(
        pages=len({item.final_url for item in archived}), entries=len(archived), changed=changed
    )


def _store_one(
    store: Store,
    cfg: Config,
    entry: ExtractedEntry,
    index: dedup.NearDuplicateIndex,
    run_date: date,
) -> tuple[str, int | None]:
    """Decide what one extracted entry is; returns (outcome, article id)."""
    url = entry.canonical_url or canonicalize(entry.page_url or entry.link)
    known = store.article_by_url(url)
    if known is not None:
        store.close_entry(entry.id, "duplicate", f"same canonical URL as article #{known}", known)
        return "duplicate", None
    digest = content_hash(entry.text)
    same_text = store.article_by_hash(digest)
    if same_text is not None:
        store.close_entry(entry.id, "duplicate", f"same text as article #{same_text}", same_text)
        return "duplicate", None
    same_seed = store.seed_by_hash(digest)
    if same_seed is not None:
        store.close_entry(entry.id, "duplicate", f"same text as seed #{same_seed}")
        return "duplicate", None
    sig = dedup.signature(
        entry.text, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
    )
    near = index.best_match(sig)
    rel = relevance.score(entry.title, entry.text, cfg.topic)
    if near is not None:
        decision = f"near-duplicate of {near.kind} #{near.id} (similarity {near.similarity:.2f})"
    elif rel.relevant:
        decision = f"kept: relevant (score {rel.score:g})"
    else:
        decision = (
            f"off-topic (score {rel.score:g}; facets without a match: "
            + ", ".join(name for name, terms in rel.matched.items() if not terms)
            + ")"
        )
    article_id = store.add_article(
        canonical_url=url,
        title=entry.title,
        source=entry.source,
        published_at=entry.published_at,
        run_date=run_date,
        language=entry.language,
        text=entry.text,
        text_source=entry.text_source,
        content_hash=digest,
        signature=dedup.to_bytes(sig),
        relevance=rel.score,
        relevant=rel.relevant,
        matched_terms={k: list(v) for k, v in rel.matched.items()},
        duplicate_of=near.id if near is not None and near.kind == "article" else None,
        duplicate_of_seed=near.id if near is not None and near.kind == "seed" else None,
        similarity=near.similarity if near is not None else None,
        decision=decision,
    )
    store.close_entry(entry.id, "stored", decision, article_id)
    if near is not None:
        return "near_duplicate", article_id
    index.add("article", article_id, sig)
    return ("kept" if rel.relevant else "off_topic"), article_id


def store_articles(
    cfg: Config, run_date: date, entry_ids: Sequence[int] | None = None
) -> dict[str, Any]:
    """Deduplicate, score and store every extracted entry."""
    counts = {"kept": 0, "duplicate": 0, "near_duplicate": 0, "off_topic": 0}
    kept: list[int] = []
    store = open_store(cfg)
    try:
        index = dedup.NearDuplicateIndex(cfg.dedup.near_duplicate_threshold, cfg.dedup.num_perm)
        index.add_stored((r.kind, r.id, r.signature) for r in store.signatures())
        for entry in store.extracted_entries(entry_ids):
            outcome, article_id = _store_one(store, cfg, entry, index, run_date)
            counts[outcome] += 1
            if outcome == "kept" and article_id is not None:
                kept.append(article_id)
    finally:
        store.close()
    return {
        "new_articles": counts["kept"],
        "duplicates": counts["duplicate"] + counts["near_duplicate"],
        "near_duplicates": counts["near_duplicate"],
        "off_topic": counts["off_topic"],
        "article_ids": kept,
    }


def _day(cfg: Config, when: datetime | None, fallback: date) -> date:
    if when is None:
        return fallback
    return when.astimezone(ZoneInfo(cfg.timezone)).date()


def _record_signals(
    store: Store,
    cfg: Config,
    text: str,
    doc_key: str,
    day: date | None,
    observed_at: datetime,
    *,
    article_id: int | None = None,
    seed_id: int | None = None,
) -> tuple[dict[str, int], list[signals.FoundFigure]]:
    counts = signals.count_mentions(text, cfg.watch)
    store.add_mentions(doc_key, counts, day, article_id=article_id, seed_id=seed_id)
    firsts: dict[str, signals.FoundFigure] = {}
    for found in signals.find_figures(text, cfg.watch):
        firsts.setdefault(found.figure.keyword, found)
    for found in firsts.values():
        store.add_figure(
            found.figure.keyword,
            doc_key,
            found.sentence_no,
            found.figure.value,
            found.figure.unit,
            found.figure.sentence,
            observed_at,
            article_id=article_id,
            seed_id=seed_id,
        )
    return counts, list(firsts.values())


def detect_changes(
    cfg: Config, run_date: date, article_ids: Sequence[int] | None = None
) -> dict[str, Any]:
    """Count watched keywords in the run's kept articles; raise alerts for first
    mentions and changed figures."""
    store = open_store(cfg)
    new_alerts: list[int] = []
    try:
        ids = (
            list(article_ids)
            if article_ids is not None
            else store.relevant_articles_of_run(run_date)
        )
        seen = store.keywords_seen()
        for article in store.articles(ids):
            doc_key = f"article:{article.id}"
            if store.has_mentions(doc_key):
                continue  # counted by an earlier attempt of this run
            text = f"{article.title}\n{article.text}"
            previous = {
                f.figure.keyword: store.last_figure(f.figure.keyword, f.figure.unit)
                for f in signals.find_figures(text, cfg.watch)
            }
            counts, figures = _record_signals(
                store,
                cfg,
                text,
                doc_key,
                _day(cfg, article.published_at, run_date),
                article.published_at or datetime.now(UTC),
                article_id=article.id,
            )
            for keyword in sorted(counts):
                if keyword in seen:
                    continue
                seen.add(keyword)
                alert_id = store.add_alert(
                    f"first_mention:{keyword}",
                    run_date,
                    rule="first_mention",
                    keyword=keyword,
                    summary=f"First mention of {keyword!r}: {article.title}",
                    new_value=None,
                    sentence=_first_sentence_with(text, keyword, cfg),
                    article_id=article.id,
                )
                if alert_id is not None:
                    new_alerts.append(alert_id)
            for found in figures:
                old = previous.get(found.figure.keyword)
                fig = found.figure
                if old is None or old.value == fig.value:
                    continue
                old_text = f"{old.value:g}{old.unit}"
                alert_id = store.add_alert(
                    f"figure_change:{fig.keyword}:{old_text}->{fig.display()}:article:{article.id}",
                    run_date,
                    rule="figure_change",
                    keyword=fig.keyword,
                    summary=f"{fig.keyword} {old_text} → {fig.display()}: {article.title}",
                    old_value=old_text,
                    new_value=fig.display(),
                    sentence=fig.sentence,
                    old_sentence=old.sentence,
                    article_id=article.id,
                )
                if alert_id is not None:
                    new_alerts.append(alert_id)
    finally:
        store.close()
    return {"alerts": len(new_alerts), "alert_ids": new_alerts}


def _first_sentence_with(text: str, keyword: str, cfg: Config) -> str | None:
    terms = next((k.terms for k in cfg.watch.keywords if k.name == keyword), [])
    for sentence in sentences(text):
        if any(relevance.count_term(t, sentence) for t in terms):
            return sentence
    return None


@dataclass(frozen=True, slots=True)
class SendResult:
    alerts_sent: int
    method: str | None
    detail: str | None
    error: str | None = None


def send_alerts(cfg: Config, run_date: date) -> SendResult:
    """Send every pending alert in one message; on failure they stay pending."""
    store = open_store(cfg)
    try:
        pending = store.pending_alerts()
        if not pending:
            return SendResult(0, None, None)
        message = alerts.compose(pending, cfg.alerts, run_date=run_date)
        ids = [a.id for a in pending]
        try:
            delivery = alerts.deliver(message, smtp=cfg.smtp, outbox_dir=cfg.outbox_dir)
        except DeliveryError as exc:
            store.mark_alerts(ids, sent=False, error=str(exc))
            LOGGER.error("%s; %d alerts stay pending", exc, len(ids))
            return SendResult(0, None, None, error=str(exc))
        store.mark_alerts(ids, sent=True)
        return SendResult(len(ids), delivery.method, delivery.detail)
    finally:
        store.close()


@dataclass
class RunSummary:
    run_date: date
    feeds_ok: int = 0
    feeds_failed: int = 0
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
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["run_date"] = self.run_date.isoformat()
        return data


def record_run(cfg: Config, summary: RunSummary) -> None:
    store = open_store(cfg)
    try:
        store.record_run(summary.run_date, summary.as_dict())
    finally:
        store.close()


def send_and_report(
    cfg: Config,
    run_date: date,
    collected: dict[str, Any],
    fetched: dict[str, Any],
    stored: dict[str, Any],
    changes: dict[str, Any],
    *,
    raise_on_delivery_error: bool = True,
) -> dict[str, Any]:
    """Send the pending alerts, record the run's summary, and return it.

    With ``raise_on_delivery_error`` (Airflow) a failed send raises after the summary is
    recorded, so the task is retried; the alerts stay pending either way.
    """
    sent = send_alerts(cfg, run_date)
    summary = RunSummary(
        run_date=run_date,
        feeds_ok=collected["feeds_ok"],
        feeds_failed=collected["feeds_failed"],
        entries=collected["entries"],
        new_entries=collected["new_entries"],
        pages_ok=fetched["pages_ok"],
        pages_failed=fetched["pages_failed"],
        new_articles=stored["new_articles"],
        duplicates=stored["duplicates"] + fetched["known_urls"],
        off_topic=stored["off_topic"],
        alerts_raised=changes["alerts"],
        alerts_sent=sent.alerts_sent,
        delivery=f"{sent.method}: {sent.detail}" if sent.method else None,
        delivery_error=sent.error,
        failures=collected["failures"],
    )
    record_run(cfg, summary)
    if sent.error and raise_on_delivery_error:
        raise DeliveryError(sent.error)
    return summary.as_dict()


def run_day(cfg: Config, run_date: date) -> RunSummary:
    """The whole pipeline for one day (what the DAG runs, in one process)."""
    collected = collect_feeds(cfg, run_date)
    fetched = fetch_articles(cfg, collected["entry_ids"])
    stored = store_articles(cfg, run_date, fetched["entry_ids"])
    changes = detect_changes(cfg, run_date, stored["article_ids"])
    data = send_and_report(
        cfg, run_date, collected, fetched, stored, changes, raise_on_delivery_error=False
    )
    return RunSummary(**{**data, "run_date": run_date})
