"""Storage: the SQLAlchemy models, migrations and every query the pipeline makes.

Only this module touches sessions. SQLite is the default (a file under ``data_dir``);
PostgreSQL works through ``MONITOR_DATABASE_URL``. The schema is created and migrated by
Alembic (``monitor/migrations``); analysts read the views ``v_articles`` and ``v_alerts``.
Every timestamp is stored as naive UTC and read back as an aware UTC datetime.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy import (
    table as table_clause,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, sessionmaker

from monitor.errors import StorageError
from monitor.records import (
    AlertView,
    FeedEntry,
    FeedHealth,
    FeedResult,
    FeedState,
    StoryView,
)

LOGGER = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC in the column, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class FeedRow(Base):
    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    language: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Conditional GET: validators sent next time, and the hash of the last body parsed.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Health: the run date of the last attempt, the first failed run of the current
    # streak, and the first run date on which a failing feed is tried again.
    last_run_date: Mapped[date | None] = mapped_column(Date)
    failing_since: Mapped[date | None] = mapped_column(Date)
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    last_format: Mapped[str | None] = mapped_column(String(40))


class PageArchiveRow(Base):
    """A fetched article page as it came off the wire (body gzip-compressed), so that
    extraction can be re-run later without the network (``monitor reextract``)."""

    __tablename__ = "page_archive"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    final_url: Mapped[str] = mapped_column(String(2000), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str] = mapped_column(Text, default="{}")
    encoding: Mapped[str] = mapped_column(String(20), default="gzip")
    size: Mapped[int] = mapped_column(Integer)  # uncompressed bytes
    body: Mapped[bytes] = mapped_column(LargeBinary)


class FetchRow(Base):
    """One attempt to fetch one feed in one run."""

    __tablename__ = "fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(40))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(40))
    entries: Mapped[int] = mapped_column(Integer, default=0)


class SeedRow(Base):
    __tablename__ = "seed_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntryRow(Base):
    """A feed item as seen in a run, and what became of it (the staging table)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("feed_id", "guid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    guid: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(20))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    # pending → extracted → stored | duplicate (no article row made)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    page_status: Mapped[str | None] = mapped_column(String(40))
    page_error: Mapped[str | None] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    page_title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    text_source: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(300))
    page_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    page_language: Mapped[str | None] = mapped_column(String(20))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    decision: Mapped[str | None] = mapped_column(Text)


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    language: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    text_source: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    relevance: Mapped[float] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean)
    matched_terms: Mapped[str] = mapped_column(Text, default="{}")
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    duplicate_of_seed: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    similarity: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(Text)
    # Issue 4: the story the article belongs to, the dedup rule that decided it
    # (kept | guid | content_hash | near_duplicate | title | separated) and its match
    # ("article:12" / "seed:3"), and the current version (1 + rows in article_versions).
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)  # stories.id
    dedup_rule: Mapped[str | None] = mapped_column(String(20))
    dedup_match: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoryRow(Base):
    """One news story: an article and its copies (syndicated, rewritten, republished)."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"), unique=True)
    canonical_article_id: Mapped[int | None] = mapped_column(Integer)
    first_article_id: Mapped[int | None] = mapped_column(Integer)
    first_outlet: Mapped[str | None] = mapped_column(String(300))
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outlets: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, first seen first
    copies: Mapped[int] = mapped_column(Integer, default=0)  # articles + exact-copy entries
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocSignatureRow(Base):
    """The MinHash signature of a seed or a kept article, for near-duplicate lookups."""

    __tablename__ = "doc_signatures"
    __table_args__ = (UniqueConstraint("doc_kind", "doc_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_kind: Mapped[str] = mapped_column(String(10))  # seed | article
    doc_id: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shingles: Mapped[int] = mapped_column(Integer)  # set size, for containment estimates
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class LshBandRow(Base):
    """One LSH band hash of one signature; a lookup is an indexed ``key IN (...)``."""

    __tablename__ = "lsh_bands"
    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("doc_signatures.id", ondelete="CASCADE"), index=True
    )
    layout: Mapped[str] = mapped_column(String(20))  # "128x25x5": perms x bands x rows
    key: Mapped[int] = mapped_column(BigInteger, index=True)


class ArticleVersionRow(Base):
    """An earlier text of an article whose page changed, with a short diff to the next."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    diff: Mapped[str] = mapped_column(Text)  # from this version to the next


class DedupOverrideRow(Base):
    """An analyst's "these are not the same story": never merge the pair again."""

    __tablename__ = "dedup_overrides"
    __table_args__ = (UniqueConstraint("article_id", "other_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    other_key: Mapped[str] = mapped_column(String(40))  # "article:12" | "seed:3"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    previous_decision: Mapped[str] = mapped_column(Text)


class MentionRow(Base):
    """How often a watched keyword appears in one document (article or seed)."""

    __tablename__ = "keyword_mentions"
    __table_args__ = (UniqueConstraint("keyword", "doc_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200), index=True)
    doc_key: Mapped[str] = mapped_column(String(40))  # "article:12" or "seed:3"
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    day: Mapped[date | None] = mapped_column(Date, index=True)
    count: Mapped[int] = mapped_column(Integer)


class FigureRow(Base):
    """A number attached to a watched keyword ("a 20 percent tariff") in one document."""

    __tablename__ = "keyword_figures"
    __table_args__ = (UniqueConstraint("keyword", "doc_key", "sentence_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200), index=True)
    doc_key: Mapped[str] = mapped_column(String(40))
    sentence_no: Mapped[int] = mapped_column(Integer)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    sentence: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    rule: Mapped[str] = mapped_column(String(40))
    keyword: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str | None] = mapped_column(String(100))
    sentence: Mapped[str | None] = mapped_column(Text)
    old_sentence: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    # pending → sent | failed (after alerts.max_attempts failed sends); suppressed = a
    # debounced repeat, kept for the record and never sent.
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    day: Mapped[date | None] = mapped_column(Date, index=True)  # the counted day, local
    old_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    note: Mapped[str | None] = mapped_column(Text)  # why suppressed; baseline figures
    details: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class AlertArticleRow(Base):
    """Provenance: the articles (or seeds) behind an alert, with the sentence quoted."""

    __tablename__ = "alert_articles"
    __table_args__ = (UniqueConstraint("alert_id", "role", "doc_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # new | old | support
    doc_key: Mapped[str] = mapped_column(String(40))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    sentence: Mapped[str | None] = mapped_column(Text)


class RunRow(Base):
    """One pipeline run for one date, with its summary counts."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[str] = mapped_column(Text, default="{}")


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


@dataclass(frozen=True, slots=True)
class SignatureRow:
    kind: str  # "seed" | "article"
    id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    title: str
    text: str
    url: str
    source: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class KnownFigure:
    value: float
    unit: str
    sentence: str
    article_id: int | None
    doc_key: str = ""
    observed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One document behind an alert: ``doc_key`` is ``article:12`` or ``seed:3``."""

    role: str  # new | old | support
    doc_key: str
    sentence: str | None = None


# What one story is when counting: the story cluster (monitor.dedup_store), so wire
# syndication and rewrites count once; an article without a cluster (rows written before
# stories existed) is its own story, keyed apart from cluster ids by its negated id.
STORY_KEY = func.coalesce(ArticleRow.story_id, -ArticleRow.id)


def _not_a_copy() -> tuple[Any, Any]:
    return ArticleRow.duplicate_of.is_(None), ArticleRow.duplicate_of_seed.is_(None)


def _doc_ids(doc_key: str) -> tuple[int | None, int | None]:
    kind, _, number = doc_key.partition(":")
    return (int(number), None) if kind == "article" else (None, int(number))


def _lead(text: str, title: str, limit: int = 280) -> str:
    """The first paragraph that is not the headline again, cut to ``limit`` characters."""
    paragraphs = [p.strip() for p in text.strip().split("\n") if p.strip()]
    first = next((p for p in paragraphs if p != title.strip()), "")
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    entry_id: int
    article_id: int | None
    final_url: str
    fetched_at: datetime
    headers: dict[str, str]
    body: bytes


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """The database of one monitor: open it, migrate it, read and write pipeline rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"cannot open database {self.safe_url}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        try:
            return self.engine.url.render_as_string(hide_password=True)
        except AttributeError:
            return self.url.split("@")[-1]

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise StorageError(f"database {self.safe_url}: {exc.orig}") from exc
            except BaseException:
                session.rollback()
                raise

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise StorageError(f"cannot migrate database {self.safe_url}: {exc.orig}") from None

    # -- seeds ------------------------------------------------------------------------

    def add_seed(
        self, name: str, title: str, text: str, content_hash: str, signature: bytes
    ) -> tuple[int, bool]:
        """Insert a seed document unless one of that name exists; (id, created)."""
        with self.session() as s:
            existing = s.scalar(select(SeedRow).where(SeedRow.name == name))
            if existing is not None:
                if existing.content_hash != content_hash:
                    existing.title, existing.text = title, text
                    existing.content_hash, existing.signature = content_hash, signature
                    return existing.id, True
                return existing.id, False
            row = SeedRow(
                name=name, title=title, text=text, content_hash=content_hash, signature=signature
            )
            s.add(row)
            s.flush()
            return row.id, True

    def seed_texts(self) -> list[tuple[int, str, str]]:
        with self.session() as s:
            return [
                (r.id, r.title, r.text) for r in s.scalars(select(SeedRow).order_by(SeedRow.id))
            ]

    # -- feeds and entries ------------------------------------------------------------

    def feed_id(self, session: Session, name: str, url: str, language: str | None) -> int:
        row = session.scalar(select(FeedRow).where(FeedRow.url == url))
        if row is None:
            row = FeedRow(name=name, url=url, language=language)
            session.add(row)
            session.flush()
        else:
            row.name, row.language = name, language
        return row.id

    def feed_states(self) -> dict[str, FeedState]:
        """What earlier runs learned about each known feed, by URL."""
        with self.session() as s:
            return {
                f.url: FeedState(
                    etag=f.etag,
                    last_modified=f.last_modified,
                    body_hash=f.body_hash,
                    consecutive_failures=f.consecutive_failures,
                    last_run_date=f.last_run_date,
                    next_attempt_on=f.next_attempt_on,
                    failing_since=f.failing_since,
                )
                for f in s.scalars(select(FeedRow))
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
    ) -> list[int]:
        """Record one feed's fetch and its new entries; returns the ids of new entries.

        ``unchanged`` counts as a success. A failure starts or extends the feed's failure
        streak (a rerun of the same run date does not count twice) and sets the run date
        of the next attempt. With ``keep_validators`` false the stored ETag/Last-Modified
        and body hash are cleared, so the next run fetches and parses the feed in full
        (used when some entries were left for a later run date).
        """
        now = utcnow()
        new_ids: list[int] = []
        with self.session() as s:
            feed_id = self.feed_id(s, result.name, result.url, language)
            feed = s.get_one(FeedRow, feed_id)
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
            feed.last_run_date = run_date
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
            known = set(s.scalars(select(EntryRow.guid).where(EntryRow.feed_id == feed_id)))
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
                s.add(row)
                s.flush()
                new_ids.append(row.id)
        return new_ids

    def pending_entries(self, ids: Sequence[int] | None = None) -> list[PendingEntry]:
        """Entries still waiting for their page (all of them, or those of ``ids``)."""
        with self.session() as s:
            query = (
                select(EntryRow, FeedRow.name)
                .join(FeedRow, EntryRow.feed_id == FeedRow.id)
                .where(EntryRow.state == "pending")
                .order_by(EntryRow.id)
            )
            if ids is not None:
                query = query.where(EntryRow.id.in_(list(ids)))
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

    def save_extraction(self, entry_id: int, **values: Any) -> None:
        with self.session() as s:
            s.execute(
                update(EntryRow).where(EntryRow.id == entry_id).values(state="extracted", **values)
            )

    def extracted_entries(self, ids: Sequence[int] | None = None) -> list[ExtractedEntry]:
        with self.session() as s:
            query = (
                select(EntryRow, FeedRow.name)
                .join(FeedRow, EntryRow.feed_id == FeedRow.id)
                .where(EntryRow.state == "extracted")
                .order_by(EntryRow.published_at, EntryRow.id)
            )
            if ids is not None:
                query = query.where(EntryRow.id.in_(list(ids)))
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
                )
                for e, name in s.execute(query)
            ]

    def close_entry(
        self, entry_id: int, state: str, decision: str, article_id: int | None = None
    ) -> None:
        with self.session() as s:
            s.execute(
                update(EntryRow)
                .where(EntryRow.id == entry_id)
                .values(state=state, decision=decision, article_id=article_id)
            )

    # -- articles ---------------------------------------------------------------------

    def article_by_url(self, canonical_url: str) -> int | None:
        with self.session() as s:
            return s.scalar(select(ArticleRow.id).where(ArticleRow.canonical_url == canonical_url))

    def entry_with_page(self, canonical_url: str) -> int | None:
        """An entry whose page was fetched and has this canonical URL (not yet stored
        as an article, perhaps), or None."""
        with self.session() as s:
            return s.scalar(
                select(EntryRow.id)
                .where(EntryRow.canonical_url == canonical_url, EntryRow.page_status == "ok")
                .order_by(EntryRow.id)
                .limit(1)
            )

    def article_by_hash(self, content_hash: str) -> int | None:
        with self.session() as s:
            return s.scalar(
                select(ArticleRow.id)
                .where(ArticleRow.content_hash == content_hash)
                .order_by(ArticleRow.id)
                .limit(1)
            )

    def seed_by_hash(self, content_hash: str) -> int | None:
        with self.session() as s:
            return s.scalar(select(SeedRow.id).where(SeedRow.content_hash == content_hash))

    def signatures(self) -> list[SignatureRow]:
        """Every stored MinHash signature: seeds, and articles that are not duplicates."""
        with self.session() as s:
            seeds = [
                SignatureRow("seed", i, sig)
                for i, sig in s.execute(select(SeedRow.id, SeedRow.signature))
                if sig
            ]
            articles = [
                SignatureRow("article", i, sig)
                for i, sig in s.execute(
                    select(ArticleRow.id, ArticleRow.signature).where(
                        ArticleRow.duplicate_of.is_(None), ArticleRow.duplicate_of_seed.is_(None)
                    )
                )
                if sig
            ]
            return seeds + articles

    def add_article(self, **values: Any) -> int:
        matched = values.pop("matched_terms", {})
        with self.session() as s:
            row = ArticleRow(matched_terms=json.dumps(matched, ensure_ascii=False), **values)
            s.add(row)
            try:
                s.flush()
            except IntegrityError as exc:
                raise StorageError(f"article {values.get('canonical_url')} stored twice") from exc
            return row.id

    def articles(self, ids: Sequence[int]) -> list[StoredArticle]:
        with self.session() as s:
            rows = s.scalars(
                select(ArticleRow)
                .where(ArticleRow.id.in_(list(ids)))
                .order_by(ArticleRow.published_at, ArticleRow.id)
            )
            return [
                StoredArticle(r.id, r.title, r.text, r.canonical_url, r.source, r.published_at)
                for r in rows
            ]

    def relevant_articles_of_run(self, run_date: date) -> list[int]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(ArticleRow.id)
                    .where(
                        ArticleRow.run_date == run_date,
                        ArticleRow.relevant.is_(True),
                        ArticleRow.duplicate_of.is_(None),
                        ArticleRow.duplicate_of_seed.is_(None),
                    )
                    .order_by(ArticleRow.id)
                )
            )

    # -- keywords, figures, alerts ----------------------------------------------------

    def has_mentions(self, doc_key: str) -> bool:
        with self.session() as s:
            return s.scalar(select(MentionRow.id).where(MentionRow.doc_key == doc_key)) is not None

    def add_mentions(
        self,
        doc_key: str,
        counts: dict[str, int],
        day: date | None,
        article_id: int | None = None,
        seed_id: int | None = None,
    ) -> None:
        with self.session() as s:
            for keyword, count in counts.items():
                s.add(
                    MentionRow(
                        keyword=keyword,
                        doc_key=doc_key,
                        article_id=article_id,
                        seed_id=seed_id,
                        day=day,
                        count=count,
                    )
                )

    def last_figure(self, keyword: str, unit: str) -> KnownFigure | None:
        with self.session() as s:
            row = s.scalar(
                select(FigureRow)
                .where(FigureRow.keyword == keyword, FigureRow.unit == unit)
                .order_by(FigureRow.observed_at.desc(), FigureRow.id.desc())
                .limit(1)
            )
            if row is None:
                return None
            return KnownFigure(
                row.value, row.unit, row.sentence, row.article_id, row.doc_key, row.observed_at
            )

    def add_figure(
        self,
        keyword: str,
        doc_key: str,
        sentence_no: int,
        value: float,
        unit: str,
        sentence: str,
        observed_at: datetime,
        article_id: int | None = None,
        seed_id: int | None = None,
    ) -> None:
        with self.session() as s:
            s.add(
                FigureRow(
                    keyword=keyword,
                    doc_key=doc_key,
                    sentence_no=sentence_no,
                    value=value,
                    unit=unit,
                    sentence=sentence,
                    observed_at=observed_at,
                    article_id=article_id,
                    seed_id=seed_id,
                )
            )

    def add_alert(
        self,
        key: str,
        run_date: date,
        evidence: Sequence[Evidence] = (),
        **values: Any,
    ) -> int | None:
        """Insert an alert unless its natural key exists; the new id or None.

        ``evidence`` rows record which documents (and sentences) the alert rests on.
        """
        details = values.pop("details", None)
        with self.session() as s:
            if s.scalar(select(AlertRow.id).where(AlertRow.key == key)) is not None:
                return None
            row = AlertRow(
                key=key,
                run_date=run_date,
                details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False),
                **values,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                # Another attempt of this run inserted the same key first.
                s.rollback()
                return None
            seen: set[tuple[str, str]] = set()
            for item in evidence:
                if (item.role, item.doc_key) in seen:
                    continue
                seen.add((item.role, item.doc_key))
                article_id, seed_id = _doc_ids(item.doc_key)
                s.add(
                    AlertArticleRow(
                        alert_id=row.id,
                        role=item.role,
                        doc_key=item.doc_key,
                        article_id=article_id,
                        seed_id=seed_id,
                        sentence=item.sentence,
                    )
                )
            return row.id

    def recent_alert(self, rule: str, keyword: str, since: date, until: date) -> int | None:
        """The newest alert (not suppressed) of ``rule`` on ``keyword`` for a day in
        [since, until]: what a new one would repeat within the cool-down."""
        with self.session() as s:
            return s.scalar(
                select(AlertRow.id)
                .where(
                    AlertRow.rule == rule,
                    AlertRow.keyword == keyword,
                    AlertRow.status != "suppressed",
                    AlertRow.day >= since,
                    AlertRow.day <= until,
                )
                .order_by(AlertRow.day.desc(), AlertRow.id.desc())
                .limit(1)
            )

    def alert_evidence(self, alert_id: int) -> list[Evidence]:
        with self.session() as s:
            rows = s.scalars(
                select(AlertArticleRow)
                .where(AlertArticleRow.alert_id == alert_id)
                .order_by(AlertArticleRow.id)
            )
            return [Evidence(r.role, r.doc_key, r.sentence) for r in rows]

    def _alert_views(self, s: Session, where: Any) -> list[AlertView]:
        old = aliased(ArticleRow)
        rows = s.execute(
            select(
                AlertRow,
                ArticleRow.title,
                ArticleRow.canonical_url,
                ArticleRow.source,
                old.title,
                old.canonical_url,
                old.source,
            )
            .outerjoin(ArticleRow, AlertRow.article_id == ArticleRow.id)
            .outerjoin(old, AlertRow.old_article_id == old.id)
            .where(where)
            .order_by(AlertRow.id)
        )
        return [
            AlertView(
                id=a.id,
                rule=a.rule,
                keyword=a.keyword,
                summary=a.summary,
                created_at=a.created_at,
                run_date=a.run_date,
                old_value=a.old_value,
                new_value=a.new_value,
                sentence=a.sentence,
                old_sentence=a.old_sentence,
                article_title=title,
                article_url=url,
                source=source,
                old_article_title=old_title,
                old_article_url=old_url,
                old_source=old_source,
                day=a.day,
                status=a.status,
                attempts=a.attempts,
                last_error=a.last_error,
                note=a.note,
            )
            for a, title, url, source, old_title, old_url, old_source in rows
        ]

    def pending_alerts(self) -> list[AlertView]:
        with self.session() as s:
            return self._alert_views(s, AlertRow.status == "pending")

    def alert(self, alert_id: int) -> AlertView | None:
        with self.session() as s:
            found = self._alert_views(s, AlertRow.id == alert_id)
            return found[0] if found else None

    def mark_alerts(
        self,
        ids: Sequence[int],
        *,
        sent: bool,
        error: str | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """Count one send attempt: sent, or still pending with the error (``failed`` once
        ``max_attempts`` attempts have failed)."""
        with self.session() as s:
            values: dict[str, Any] = {"attempts": AlertRow.attempts + 1, "last_error": error}
            if sent:
                values.update(status="sent", sent_at=utcnow())
            s.execute(update(AlertRow).where(AlertRow.id.in_(list(ids))).values(**values))
            if not sent and max_attempts is not None:
                s.execute(
                    update(AlertRow)
                    .where(
                        AlertRow.id.in_(list(ids)),
                        AlertRow.status == "pending",
                        AlertRow.attempts >= max_attempts,
                    )
                    .values(status="failed")
                )

    # -- counting stories -------------------------------------------------------------

    def daily_story_counts(
        self, keywords: Sequence[str], start: date, end: date
    ) -> dict[str, dict[date, int]]:
        """Stories (not copies) mentioning each keyword per local day in [start, end]."""
        out: dict[str, dict[date, int]] = {k: {} for k in keywords}
        with self.session() as s:
            rows = s.execute(
                select(MentionRow.keyword, MentionRow.day, func.count(func.distinct(STORY_KEY)))
                .join(ArticleRow, ArticleRow.id == MentionRow.article_id)
                .where(
                    MentionRow.keyword.in_(list(keywords)),
                    MentionRow.day >= start,
                    MentionRow.day <= end,
                    *_not_a_copy(),
                )
                .group_by(MentionRow.keyword, MentionRow.day)
            )
            for keyword, day, n in rows:
                if day is not None:
                    out[keyword][day] = int(n)
        return out

    def first_data_day(self) -> date | None:
        """The earliest local day any stored story was counted on."""
        with self.session() as s:
            found: date | None = s.scalar(
                select(func.min(MentionRow.day)).where(MentionRow.article_id.is_not(None))
            )
            return found

    def run_mentions(self, run_date: date) -> dict[str, list[tuple[date, str]]]:
        """Per keyword, the (day, doc_key) of each mention in the run's stories, oldest first."""
        out: dict[str, list[tuple[date, str]]] = {}
        with self.session() as s:
            rows = s.execute(
                select(MentionRow.keyword, MentionRow.day, MentionRow.doc_key)
                .join(ArticleRow, ArticleRow.id == MentionRow.article_id)
                .where(ArticleRow.run_date == run_date, MentionRow.day.is_not(None), *_not_a_copy())
                .order_by(MentionRow.day, MentionRow.id)
            )
            for keyword, day, doc_key in rows:
                if day is not None:
                    out.setdefault(keyword, []).append((day, doc_key))
        return out

    def seen_before(self, keyword: str, run_date: date, since: date, until: date) -> bool:
        """Was ``keyword`` in a seed, or in a story of an earlier run counted on a day in
        [since, until]?"""
        with self.session() as s:
            seed = s.scalar(
                select(MentionRow.id)
                .where(MentionRow.keyword == keyword, MentionRow.seed_id.is_not(None))
                .limit(1)
            )
            if seed is not None:
                return True
            earlier = s.scalar(
                select(MentionRow.id)
                .join(ArticleRow, ArticleRow.id == MentionRow.article_id)
                .where(
                    MentionRow.keyword == keyword,
                    ArticleRow.run_date < run_date,
                    MentionRow.day >= since,
                    MentionRow.day <= until,
                    *_not_a_copy(),
                )
                .limit(1)
            )
            return earlier is not None

    def stories_on(self, keyword: str, day: date) -> list[str]:
        """doc_keys of the stories mentioning ``keyword`` counted on ``day``."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(MentionRow.doc_key)
                    .join(ArticleRow, ArticleRow.id == MentionRow.article_id)
                    .where(MentionRow.keyword == keyword, MentionRow.day == day, *_not_a_copy())
                    .order_by(ArticleRow.published_at, ArticleRow.id)
                )
            )

    def docs_with(self, keywords: Sequence[str]) -> dict[str, set[str]]:
        """doc_keys mentioning each keyword (seeds and stories, copies left out)."""
        out: dict[str, set[str]] = {k: set() for k in keywords}
        with self.session() as s:
            rows = s.execute(
                select(MentionRow.keyword, MentionRow.doc_key, ArticleRow.run_date)
                .outerjoin(ArticleRow, ArticleRow.id == MentionRow.article_id)
                .where(
                    MentionRow.keyword.in_(list(keywords)),
                    (MentionRow.seed_id.is_not(None))
                    | (ArticleRow.duplicate_of.is_(None) & ArticleRow.duplicate_of_seed.is_(None)),
                )
            )
            for keyword, doc_key, _ in rows:
                out[keyword].add(doc_key)
        return out

    def doc_run_dates(self, doc_keys: Sequence[str]) -> dict[str, date | None]:
        """The run date of each article doc_key (None for seeds)."""
        wanted = [i for i in (_doc_ids(k)[0] for k in doc_keys) if i is not None]
        with self.session() as s:
            rows = s.execute(
                select(ArticleRow.id, ArticleRow.run_date).where(ArticleRow.id.in_(wanted))
            )
            dates: dict[int, date] = {int(i): d for i, d in rows}
        return {k: dates.get(_doc_ids(k)[0] or -1) for k in doc_keys}

    def new_stories(self, run_date: date, limit: int) -> list[StoryView]:
        """The run's new relevant stories, with how many other outlets carried a copy."""
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(ArticleRow)
                    .where(
                        ArticleRow.run_date == run_date,
                        ArticleRow.relevant.is_(True),
                        *_not_a_copy(),
                    )
                    .order_by(ArticleRow.published_at, ArticleRow.id)
                    .limit(limit)
                )
            )
            out: list[StoryView] = []
            for r in rows:
                story = s.get(StoryRow, r.story_id) if r.story_id is not None else None
                copies = set(json.loads(story.outlets)) if story is not None else set()
                copies.discard(r.source)
                out.append(
                    StoryView(
                        article_id=r.id,
                        title=r.title,
                        url=r.canonical_url,
                        source=r.source,
                        lead=_lead(r.text, r.title),
                        other_outlets=len(copies),
                        published_at=r.published_at,
                    )
                )
            return out

    # -- feed health and the page archive ----------------------------------------------

    def feed_health(self, now: datetime, recent: int = 50) -> list[FeedHealth]:
        """Every known feed's health, judged at ``now`` (the end of the run's window).

        Items per day are counted over the last 30 days (or the feed's life, if shorter);
        the usual gap is the mean gap between the feed's ``recent`` newest dated items.
        """
        month_ago = now - timedelta(days=30)
        rows: list[FeedHealth] = []
        with self.session() as s:
            for f in s.scalars(select(FeedRow).order_by(FeedRow.name)):
                total = int(s.scalar(select(func.count()).where(EntryRow.feed_id == f.id)) or 0)
                dated = list(
                    s.scalars(
                        select(EntryRow.published_at)
                        .where(EntryRow.feed_id == f.id, EntryRow.published_at.is_not(None))
                        .where(EntryRow.published_at <= now)
                        .order_by(EntryRow.published_at.desc())
                        .limit(recent)
                    )
                )
                times = [t for t in dated if t is not None]
                last_item = times[0] if times else None
                gap = None
                if len(times) >= 2:
                    gap = (times[0] - times[-1]).total_seconds() / 3600 / (len(times) - 1)
                in_month = sum(1 for t in times if t >= month_ago)
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

    def archived_entries(self) -> list[ArchivedPage]:
        """Entries whose page was fetched and archived, with the newest copy of it."""
        newest = (
            select(PageArchiveRow.final_url, func.max(PageArchiveRow.id).label("id"))
            .group_by(PageArchiveRow.final_url)
            .subquery()
        )
        with self.session() as s:
            query = (
                select(EntryRow.id, EntryRow.article_id, PageArchiveRow)
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
                )
                for entry_id, article_id, page in s.execute(query)
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

    # -- runs -------------------------------------------------------------------------

    def record_run(self, run_date: date, stats: dict[str, Any]) -> None:
        with self.session() as s:
            s.add(
                RunRow(
                    run_date=run_date,
                    finished_at=utcnow(),
                    stats=json.dumps(stats, sort_keys=True),
                )
            )

    def last_run(self) -> tuple[date, dict[str, Any]] | None:
        with self.session() as s:
            row = s.scalar(select(RunRow).order_by(RunRow.id.desc()).limit(1))
            return None if row is None else (row.run_date, json.loads(row.stats))

    def view(self, name: str, columns: Sequence[str], order_by: str) -> list[dict[str, Any]]:
        """Rows of an analyst view (``v_articles``, ``v_alerts``) as dictionaries."""
        if name not in ("v_articles", "v_alerts", "v_stories"):
            raise ValueError(f"unknown view {name!r}")
        table = table_clause(name, *(column(c) for c in columns))
        with self.session() as s:
            rows = s.execute(select(table).order_by(text(order_by)))
            return [dict(r._mapping) for r in rows]

    def count(self, table: str) -> int:
        model = {m.__tablename__: m for m in Base.__subclasses__()}[table]
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
