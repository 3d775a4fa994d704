"""Queries on feeds and their entries: conditional-GET state and failure streaks, each
run's fetch, the staging table of feed items, feed health, and the page archive that
``monitor reextract`` reads.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.errors import RejectedItemError
from monitor.records import FeedEntry, FeedHealth, FeedResult, FeedState
from monitor.storage.base import Queries, refusal, rejected
from monitor.storage.models import ArticleRow, EntryRow, FeedRow, FetchRow, PageArchiveRow, utcnow


@dataclass(frozen=True, slots=True)
class RecordedFeed:
    """What recording one feed's fetch kept: the new entries' ids, and the items the
    database refused (each alone, with why)."""

    entry_ids: tuple[int, ...]
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingEntry:
    id: int
    feed_name: str
    link: str
    title: str
    summary: str
    published_at: datetime | None
    language: str | None


@dataclass(frozen=True, slots=True)
class ExtractedEntry:
    id: int
    feed_name: str
    link: str
    page_url: str | None
    canonical_url: str | None
    title: str
    text: str
    text_source: str
    source: str
    published_at: datetime | None
    language: str | None
    # page: the page's own date; feed: the feed item's (the page gave none); fetch: neither
    published_source: str = "fetch"
    published_date: date | None = None  # the page's day as published (page dates only)
    run_date: date | None = None  # of the run that collected it


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    entry_id: int
    article_id: int | None
    final_url: str
    fetched_at: datetime
    headers: dict[str, str]
    body: bytes
    feed_url: str = ""
    # The entry made (or, from its own URL, updated) its article; a duplicate only
    # points at an article whose text came from another page.
    owns_article: bool = False


@dataclass(frozen=True, slots=True)
class NewArchivedPage:
    """A fetched page to archive, its body already gzip-compressed (by the fetching
    thread, not under the pipeline lock): :meth:`FeedQueries.archive_pages`."""

    url: str
    final_url: str
    http_status: int | None
    headers: dict[str, str]
    size: int  # uncompressed bytes
    gzipped: bytes
    fetched_at: datetime

    @classmethod
    def of(
        cls,
        url: str,
        final_url: str,
        http_status: int | None,
        headers: dict[str, str],
        body: bytes,
        fetched_at: datetime,
    ) -> NewArchivedPage:
        return cls(
            url,
            final_url,
            http_status,
            headers,
            len(body),
            gzip.compress(body, compresslevel=6),
            fetched_at,
        )


LOGGER = logging.getLogger(__name__)
# Session.info key of the feed rows a batch read ahead (the session is the batch's
# transaction, so they live exactly as long as it).
_LOADED_FEEDS = "monitor.loaded_feeds"


class FeedQueries(Queries):
    """Feeds, entries, fetches, feed health and archived pages."""

    # -- feeds and entries ------------------------------------------------------------

    def load_feeds(self, urls: Sequence[str]) -> None:
        """Read the rows of the feeds at ``urls`` in one query, for the
        :meth:`record_feed` calls that follow in the same transaction (a batch)."""
        with self.session() as s:
            loaded: dict[str, FeedRow] = s.info.setdefault(_LOADED_FEEDS, {})
            for row in s.scalars(select(FeedRow).where(FeedRow.url.in_(list(urls)))):
                loaded[row.url] = row

    def feed_row(self, session: Session, name: str, url: str, language: str | None) -> FeedRow:
        """The feed's row (as :meth:`load_feeds` read it, else now), registering it first
        if it is new (an upsert: two first runs at once both get the one row, where a
        plain INSERT would fail one of them)."""
        loaded: dict[str, FeedRow] = session.info.get(_LOADED_FEEDS, {})
        row = loaded.get(url)
        if row is None:
            row = session.scalars(select(FeedRow).where(FeedRow.url == url)).one_or_none()
        if row is None:
            dialect = session.get_bind().dialect.name
            values = {"name": name, "url": url, "language": language, "created_at": utcnow()}
            if dialect == "postgresql":
                stmt: Any = postgresql.insert(FeedRow).on_conflict_do_nothing(
                    index_elements=["url"]
                )
            elif dialect == "sqlite":
                stmt = sqlite.insert(FeedRow).on_conflict_do_nothing(index_elements=["url"])
            else:
                stmt = insert(FeedRow)
            session.execute(stmt.values(**values))
            row = session.scalars(select(FeedRow).where(FeedRow.url == url)).one()
        row.name, row.language = name, language
        return row

    def feed_states(self) -> dict[str, FeedState]:
        """What earlier runs learned about each known feed, by URL."""
        with self.session() as s:
            rows = s.execute(
                select(
                    FeedRow.url,
                    FeedRow.etag,
                    FeedRow.last_modified,
                    FeedRow.body_hash,
                    FeedRow.consecutive_failures,
                    FeedRow.last_run_date,
                    FeedRow.next_attempt_on,
                    FeedRow.failing_since,
                )
            )
            # Columns, not models: every collect shard reads every feed's state.
            return {
                url: FeedState(
                    etag=etag,
                    last_modified=modified,
                    body_hash=body_hash,
                    consecutive_failures=failures,
                    last_run_date=last_run,
                    next_attempt_on=next_attempt,
                    failing_since=since,
                )
                for url, etag, modified, body_hash, failures, last_run, next_attempt, since in rows
            }

    def record_feed(
        self,
        result: FeedResult,
        run_date: date,
        language: str | None,
        accepted: Sequence[FeedEntry],
        *,
        keep_validators: bool = True,
        max_backoff_days: int = 7,
    ) -> RecordedFeed:
        """Record one feed's fetch and its new entries; returns the ids of new entries
        and the items refused. Each entry is written in a savepoint of its own: one the
        database refuses is left out, and why is added to the feed's last error (what
        ``monitor feeds`` shows); the feed and its other entries are kept.

        ``unchanged`` counts as a success. A failure starts or extends the feed's failure
        streak (a rerun of the same run date does not count twice) and sets the run date
        of the next attempt. With ``keep_validators`` false the stored ETag/Last-Modified
        and body hash are cleared, so the next run fetches and parses the feed in full
        (used when some entries were left for a later run date).
        """
        # The feed is a savepoint in the batch's transaction (a transaction of its own
        # outside one): refused, only its writes are undone, and the batch goes on.
        try:
            with self.session() as s:
                return self._write_feed(
                    s, result, run_date, language, accepted, keep_validators, max_backoff_days
                )
        except SQLAlchemyError as exc:
            if not rejected(exc):
                raise
            detail = refusal(exc)
            LOGGER.warning("feed %s not stored: %s", result.name, detail)
            raise RejectedItemError(f"feed {result.name} could not be stored: {detail}") from exc

    def _write_feed(
        self,
        s: Session,
        result: FeedResult,
        run_date: date,
        language: str | None,
        accepted: Sequence[FeedEntry],
        keep_validators: bool,
        max_backoff_days: int,
    ) -> RecordedFeed:
        """What :meth:`record_feed` writes, in its session."""
        now = utcnow()
        new_ids: list[int] = []
        feed = self.feed_row(s, result.name, result.url, language)
        feed_id = feed.id
        feed.last_status, feed.last_error, feed.last_fetched_at = (
            result.status,
            result.error,
            now,
        )
        rerun = feed.last_run_date == run_date
        if result.status in ("ok", "unchanged"):
            feed.last_success_at, feed.consecutive_failures = now, 0
            feed.failing_since = feed.next_attempt_on = None
            if result.status == "ok":
                feed.last_format = result.format
                if keep_validators:
                    feed.etag, feed.last_modified = result.etag, result.last_modified
                    feed.body_hash = result.body_hash
                else:
                    feed.etag = feed.last_modified = feed.body_hash = None
        else:
            if not (rerun and feed.consecutive_failures):
                feed.consecutive_failures += 1
            feed.failing_since = feed.failing_since or run_date
            wait = min(max_backoff_days, 2 ** (feed.consecutive_failures - 1))
            feed.next_attempt_on = run_date + timedelta(days=max(1, wait))
        # A backfill of an earlier day does not move it back: a rerun of the latest
        # day is still known as a rerun.
        feed.last_run_date = max(feed.last_run_date or run_date, run_date)
        s.add(
            FetchRow(
                feed_id=feed_id,
                run_date=run_date,
                fetched_at=now,
                status=result.status,
                http_status=result.http_status,
                error=result.error,
                format=result.format,
                entries=len(result.entries),
            )
        )
        # An unchanged feed (304, same body) has no entries: no need to look.
        known = (
            set(s.scalars(select(EntryRow.guid).where(EntryRow.feed_id == feed_id)))
            if accepted
            else set()
        )
        refused: list[str] = []
        for entry in accepted:
            if entry.guid in known:
                continue
            known.add(entry.guid)
            row = EntryRow(
                feed_id=feed_id,
                guid=entry.guid,
                link=entry.link,
                title=entry.title,
                summary=entry.summary,
                published_at=entry.published_at,
                language=entry.language or language,
                run_date=run_date,
                first_seen_at=now,
            )
            try:
                with s.begin_nested():
                    s.add(row)
                    s.flush()
            except SQLAlchemyError as exc:
                if not rejected(exc):
                    raise
                if row in s:
                    s.expunge(row)
                if self._entry_exists(s, feed_id, entry.guid):
                    # The same item once cleaned, or recorded by a concurrent run.
                    continue
                reason = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
                refused.append(f"item {entry.link[:200]} could not be stored: {reason}")
                continue
            new_ids.append(row.id)
        if refused or result.skipped:
            problems = [*filter(None, [result.error]), *result.skipped, *refused]
            feed.last_error = "; ".join(problems)
        return RecordedFeed(tuple(new_ids), tuple(refused))

    @staticmethod
    def _entry_exists(session: Session, feed_id: int, guid: str) -> bool:
        found = session.scalar(
            select(EntryRow.id).where(EntryRow.feed_id == feed_id, EntryRow.guid == guid)
        )
        return found is not None

    def pending_entries(
        self, ids: Sequence[int] | None = None, *, until: date | None = None
    ) -> list[PendingEntry]:
        """Entries still waiting for their page: all of them, those of ``ids``, or those
        collected by runs up to the run date ``until``."""
        with self.session() as s:
            query = (
                select(EntryRow, FeedRow.name)
                .join(FeedRow, EntryRow.feed_id == FeedRow.id)
                .where(EntryRow.state == "pending")
                .order_by(EntryRow.id)
            )
            if ids is not None:
                query = query.where(EntryRow.id.in_(list(ids)))
            if until is not None:
                query = query.where(EntryRow.run_date <= until)
            return [
                PendingEntry(
                    id=e.id,
                    feed_name=name,
                    link=e.link,
                    title=e.title,
                    summary=e.summary,
                    published_at=e.published_at,
                    language=e.language,
                )
                for e, name in s.execute(query)
            ]

    def pending_ids(self, ids: Sequence[int]) -> set[int]:
        """Those of ``ids`` whose entries still wait for their page."""
        if not ids:
            return set()
        with self.session() as s:
            query = select(EntryRow.id).where(
                EntryRow.state == "pending", EntryRow.id.in_(list(ids))
            )
            return set(s.scalars(query))

    def save_extraction(self, entry_id: int, **values: Any) -> None:
        with self.session() as s:
            s.execute(
                update(EntryRow).where(EntryRow.id == entry_id).values(state="extracted", **values),
                execution_options={"synchronize_session": False},  # no entry row is loaded
            )

    def extracted_entries(
        self, ids: Sequence[int] | None = None, *, until: date | None = None
    ) -> list[ExtractedEntry]:
        """Entries with a page (or summary) waiting to be stored, run by run, each run's
        in publication order: all of them, those of ``ids``, or those collected by runs
        up to the run date ``until``."""
        with self.session() as s:
            query = (
                select(EntryRow, FeedRow.name)
                .join(FeedRow, EntryRow.feed_id == FeedRow.id)
                .where(EntryRow.state == "extracted")
                # Publication time, then link: the same entries are stored in the same
                # order whatever order shards collected or fetched them in.
                .order_by(EntryRow.run_date, EntryRow.published_at, EntryRow.link, EntryRow.id)
            )
            if ids is not None:
                query = query.where(EntryRow.id.in_(list(ids)))
            if until is not None:
                query = query.where(EntryRow.run_date <= until)
            return [
                ExtractedEntry(
                    id=e.id,
                    feed_name=name,
                    link=e.link,
                    page_url=e.page_url,
                    canonical_url=e.canonical_url,
                    title=e.page_title or e.title,
                    text=e.text or "",
                    text_source=e.text_source or "none",
                    source=e.source or name,
                    published_at=e.page_published_at or e.published_at,
                    language=e.page_language or e.language,
                    run_date=e.run_date,
                    published_source=(
                        "page"
                        if e.page_published_at is not None
                        else "feed"
                        if e.published_at is not None
                        else "fetch"
                    ),
                    published_date=(
                        (e.page_published_date or e.page_published_at.date())
                        if e.page_published_at is not None
                        else None
                    ),
                )
                for e, name in s.execute(query)
            ]

    def fail_entry(self, entry_id: int, reason: str) -> None:
        """Mark an entry ``failed`` with why (its page or article could not be stored);
        no later run picks it up again."""
        with self.session() as s:
            s.execute(
                update(EntryRow)
                .where(EntryRow.id == entry_id)
                .values(state="failed", decision=reason)
            )

    def close_entry(
        self, entry_id: int, state: str, decision: str, article_id: int | None = None
    ) -> None:
        with self.session() as s:
            s.execute(
                update(EntryRow)
                .where(EntryRow.id == entry_id)
                .values(state=state, decision=decision, article_id=article_id)
            )

    # -- feed health and the page archive ----------------------------------------------

    def feed_health(self, now: datetime, recent: int = 50) -> list[FeedHealth]:
        """Every known feed's health, judged at ``now`` (the end of the run's window).

        Items per day are counted over the last 30 days (or the feed's life, if shorter);
        the usual gap is the mean gap between the feed's ``recent`` newest dated items.
        Only items dated up to ``now`` are judged, so a rerun of an earlier day sees the
        feed as it was on that day.
        """
        month_ago = now - timedelta(days=30)
        rows: list[FeedHealth] = []
        with self.session() as s:
            # A handful of grouped queries for every feed at once, not five per feed:
            # a run over a thousand feeds judges them in a fraction of a second.
            totals = dict(
                s.execute(select(EntryRow.feed_id, func.count()).group_by(EntryRow.feed_id)).all()
            )
            until_now = dict(
                s.execute(
                    select(EntryRow.feed_id, func.count())
                    .where(EntryRow.published_at <= now)
                    .group_by(EntryRow.feed_id)
                ).all()
            )
            newest = (
                select(
                    EntryRow.feed_id.label("feed_id"),
                    EntryRow.published_at.label("published_at"),
                    func.row_number()
                    .over(partition_by=EntryRow.feed_id, order_by=EntryRow.published_at.desc())
                    .label("n"),
                )
                .where(EntryRow.published_at.is_not(None), EntryRow.published_at <= now)
                .subquery()
            )
            recent_times: dict[int, list[datetime]] = {}
            for feed_id, when in s.execute(
                select(newest.c.feed_id, newest.c.published_at)
                .where(newest.c.n <= recent)
                .order_by(newest.c.feed_id, newest.c.n)
            ):
                recent_times.setdefault(feed_id, []).append(when)
            runs = {
                feed_id: (first_ok, latest)
                for feed_id, first_ok, latest in s.execute(
                    select(
                        FetchRow.feed_id,
                        func.min(FetchRow.run_date).filter(
                            FetchRow.status.in_(("ok", "unchanged"))
                        ),
                        func.max(FetchRow.run_date),
                    ).group_by(FetchRow.feed_id)
                ).all()
            }
            failed = {
                feed_id: (count, last)
                for feed_id, count, last in s.execute(
                    select(EntryRow.feed_id, func.count(), func.max(EntryRow.id))
                    .where(EntryRow.state == "failed")
                    .group_by(EntryRow.feed_id)
                ).all()
            }
            decisions = (
                dict(
                    s.execute(
                        select(EntryRow.id, EntryRow.decision).where(
                            EntryRow.id.in_([last for _count, last in failed.values()])
                        )
                    ).all()
                )
                if failed
                else {}
            )
            for f in s.scalars(select(FeedRow).order_by(FeedRow.name)):
                total = int(totals.get(f.id, 0))
                times = recent_times.get(f.id, [])
                last_item = times[0] if times else None
                gap = None
                if len(times) >= 2:
                    gap = (times[0] - times[-1]).total_seconds() / 3600 / (len(times) - 1)
                in_month = sum(1 for t in times if t >= month_ago)
                first_ok, latest = runs.get(f.id, (None, None))
                failed_count, failed_last = failed.get(f.id, (0, 0))
                span_days = min(30.0, max(1.0, (now - f.created_at).total_seconds() / 86400))
                rows.append(
                    FeedHealth(
                        name=f.name,
                        url=f.url,
                        last_status=f.last_status,
                        last_error=f.last_error,
                        last_fetched_at=f.last_fetched_at,
                        last_success_at=f.last_success_at,
                        consecutive_failures=f.consecutive_failures,
                        failing_since=f.failing_since,
                        next_attempt_on=f.next_attempt_on,
                        format=f.last_format,
                        entries_total=total,
                        items_per_day=round(in_month / span_days, 2) if total else None,
                        last_item_at=last_item,
                        usual_gap_hours=round(gap, 2) if gap is not None else None,
                        items_until_now=int(until_now.get(f.id, 0)),
                        first_success_run=first_ok,
                        latest_run=latest,
                        failed_items=int(failed_count),
                        last_item_error=decisions.get(failed_last),
                    )
                )
        return rows

    def archive_page(
        self,
        url: str,
        final_url: str,
        http_status: int | None,
        headers: dict[str, str],
        body: bytes,
        fetched_at: datetime | None = None,
    ) -> int:
        """Keep a fetched page, gzip-compressed, with its headers and fetch time."""
        with self.session() as s:
            row = PageArchiveRow(
                url=url,
                final_url=final_url,
                fetched_at=fetched_at or utcnow(),
                http_status=http_status,
                headers=json.dumps(headers, sort_keys=True),
                encoding="gzip",
                size=len(body),
                body=gzip.compress(body, compresslevel=6),
            )
            s.add(row)
            s.flush()
            return row.id

    def archive_pages(self, pages: Sequence[NewArchivedPage]) -> None:
        """Keep many fetched pages in one statement (a batch of a run's pages)."""
        if not pages:
            return
        with self.session() as s:
            s.execute(
                insert(PageArchiveRow),
                [
                    {
                        "url": p.url,
                        "final_url": p.final_url,
                        "fetched_at": p.fetched_at,
                        "http_status": p.http_status,
                        "headers": json.dumps(p.headers, sort_keys=True),
                        "encoding": "gzip",
                        "size": p.size,
                        "body": p.gzipped,
                    }
                    for p in pages
                ],
            )

    def archived_entries(self) -> list[ArchivedPage]:
        """Entries whose page was fetched and archived, with the newest copy of it."""
        newest = (
            select(PageArchiveRow.final_url, func.max(PageArchiveRow.id).label("id"))
            .group_by(PageArchiveRow.final_url)
            .subquery()
        )
        with self.session() as s:
            query = (
                select(
                    EntryRow.id, EntryRow.article_id, EntryRow.state, FeedRow.url, PageArchiveRow
                )
                .join(FeedRow, FeedRow.id == EntryRow.feed_id)
                .join(newest, newest.c.final_url == EntryRow.page_url)
                .join(PageArchiveRow, PageArchiveRow.id == newest.c.id)
                .where(EntryRow.page_status == "ok")
                .order_by(EntryRow.id)
            )
            return [
                ArchivedPage(
                    entry_id=entry_id,
                    article_id=article_id,
                    final_url=page.final_url,
                    fetched_at=page.fetched_at,
                    headers=json.loads(page.headers),
                    body=gzip.decompress(page.body),
                    feed_url=feed_url,
                    owns_article=state == "stored",
                )
                for entry_id, article_id, state, feed_url, page in s.execute(query)
            ]

    def update_extraction(
        self, entry_id: int, article_id: int | None, article: dict[str, Any], **values: Any
    ) -> bool:
        """Write a re-extraction over an entry (and its article, when it has one);
        whether anything changed."""
        with self.session() as s:
            entry = s.get_one(EntryRow, entry_id)
            changed = any(getattr(entry, k) != v for k, v in values.items())
            for key, value in values.items():
                setattr(entry, key, value)
            if article_id is not None and article:
                row = s.get_one(ArticleRow, article_id)
                changed = changed or any(getattr(row, k) != v for k, v in article.items())
                for key, value in article.items():
                    setattr(row, key, value)
            return changed
