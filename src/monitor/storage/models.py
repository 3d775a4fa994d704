"""The database schema as SQLAlchemy models: every table the monitor keeps.

The only place models are declared; the Alembic migrations (``monitor/migrations``)
create and change these tables, and ``migrations/env.py`` reads :data:`Base.metadata`.
Every timestamp is stored as naive UTC and read back as an aware UTC datetime
(:class:`UTCDateTime`). Every string is cleaned on its way in: a :class:`Line` column
holds one line cut to its length, a :class:`Prose` column any text; neither ever gets a
NUL or another control character (see :mod:`monitor.limits`), on SQLite as on
PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

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
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor import limits


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


class Line(TypeDecorator[str]):
    """``VARCHAR(length)`` that takes any string: control characters out, line breaks
    made spaces, cut to ``length`` characters. Lookups are cleaned the same way, so a
    value finds its own row."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else limits.clean_line(value, self.length)


class Prose(TypeDecorator[str]):
    """``TEXT`` without NUL or other control characters (tabs and line breaks kept)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else limits.clean_text(value)


class Base(DeclarativeBase):
    pass


class FeedRow(Base):
    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Line(limits.NAME))
    url: Mapped[str] = mapped_column(Line(limits.URL), unique=True)
    language: Mapped[str | None] = mapped_column(Line(limits.LANGUAGE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[str | None] = mapped_column(Line(40))
    last_error: Mapped[str | None] = mapped_column(Prose)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Conditional GET: validators sent next time, and the hash of the last body parsed.
    etag: Mapped[str | None] = mapped_column(Line(limits.ETAG))
    last_modified: Mapped[str | None] = mapped_column(Line(limits.LAST_MODIFIED))
    body_hash: Mapped[str | None] = mapped_column(Line(64))
    # Health: the run date of the last attempt, the first failed run of the current
    # streak, and the first run date on which a failing feed is tried again.
    last_run_date: Mapped[date | None] = mapped_column(Date)
    failing_since: Mapped[date | None] = mapped_column(Date)
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    last_format: Mapped[str | None] = mapped_column(Line(40))


class PageArchiveRow(Base):
    """A fetched article page as it came off the wire (body gzip-compressed), so that
    extraction can be re-run later without the network (``monitor reextract``)."""

    __tablename__ = "page_archive"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Line(limits.URL))
    final_url: Mapped[str] = mapped_column(Line(limits.URL), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str] = mapped_column(Prose, default="{}")
    encoding: Mapped[str] = mapped_column(Line(20), default="gzip")
    size: Mapped[int] = mapped_column(Integer)  # uncompressed bytes
    body: Mapped[bytes] = mapped_column(LargeBinary)


class FetchRow(Base):
    """One attempt to fetch one feed in one run."""

    __tablename__ = "fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(Line(40))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Prose)
    format: Mapped[str | None] = mapped_column(Line(40))
    entries: Mapped[int] = mapped_column(Integer, default=0)


class SeedRow(Base):
    __tablename__ = "seed_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Line(300), unique=True)
    title: Mapped[str] = mapped_column(Prose)
    text: Mapped[str] = mapped_column(Prose)
    content_hash: Mapped[str] = mapped_column(Line(64), index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntryRow(Base):
    """A feed item as seen in a run, and what became of it (the staging table)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("feed_id", "guid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    guid: Mapped[str] = mapped_column(Line(limits.GUID))
    link: Mapped[str] = mapped_column(Line(limits.URL))
    title: Mapped[str] = mapped_column(Prose)
    summary: Mapped[str] = mapped_column(Prose)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(Line(limits.LANGUAGE))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    # pending → extracted → stored | duplicate (no article row made)
    state: Mapped[str] = mapped_column(Line(20), default="pending", index=True)
    page_status: Mapped[str | None] = mapped_column(Line(40))
    page_error: Mapped[str | None] = mapped_column(Prose)
    page_url: Mapped[str | None] = mapped_column(Line(limits.URL))
    canonical_url: Mapped[str | None] = mapped_column(Line(limits.URL))
    page_title: Mapped[str | None] = mapped_column(Prose)
    text: Mapped[str | None] = mapped_column(Prose)
    text_source: Mapped[str | None] = mapped_column(Line(20))
    source: Mapped[str | None] = mapped_column(Line(limits.NAME))
    page_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    page_published_date: Mapped[date | None] = mapped_column(Date)  # the day as published
    page_language: Mapped[str | None] = mapped_column(Line(limits.LANGUAGE))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    decision: Mapped[str | None] = mapped_column(Prose)


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Line(limits.URL), unique=True)
    title: Mapped[str] = mapped_column(Prose)
    source: Mapped[str] = mapped_column(Line(limits.NAME))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # page | feed | fetch: where published_at came from (migration 0009)
    published_source: Mapped[str | None] = mapped_column(Line(8))
    # The day as the publisher printed it, in the publisher's zone (a feed's date: the
    # monitor's zone), set when stored. Not ``day`` below: that is the day in the
    # monitor's ``timezone`` that keyword counts use, set only for counted articles.
    published_date: Mapped[date | None] = mapped_column(Date)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    language: Mapped[str | None] = mapped_column(Line(limits.LANGUAGE))
    text: Mapped[str] = mapped_column(Prose)
    text_source: Mapped[str] = mapped_column(Line(20))
    content_hash: Mapped[str] = mapped_column(Line(64), index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    relevance: Mapped[float] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean)
    matched_terms: Mapped[str] = mapped_column(Prose, default="{}")
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    duplicate_of_seed: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    similarity: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(Prose)
    # Issue 4: the story the article belongs to, the dedup rule that decided it
    # (kept | guid | content_hash | near_duplicate | title | separated) and its match
    # ("article:12" / "seed:3"), and the current version (1 + rows in article_versions).
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)  # stories.id
    dedup_rule: Mapped[str | None] = mapped_column(Line(20))
    dedup_match: Mapped[str | None] = mapped_column(Line(40))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Resumable runs: set when the article's mentions and figures were recorded, and
    # when the watch rules of its run date were evaluated (NULL: a run still owes it).
    signals_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rules_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Issue 12: the local calendar day of publication (config ``timezone``), set when
    # the article's keywords are counted; the day ``v_keyword_daily`` counts it under
    # (equal to keyword_mentions.day). NULL for an article never counted: a copy, an
    # off-topic one, or a page older than the run's look-back. A US page printed
    # 2 November 21:00 EST has published_date 2 November and, in Taipei, day 3 November.
    # (PostgreSQL also has ``search_vector``, a generated tsvector: migration 0010.)
    day: Mapped[date | None] = mapped_column(Date, index=True)


class StoryRow(Base):
    """One news story: an article and its copies (syndicated, rewritten, republished)."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Prose)
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"), unique=True)
    canonical_article_id: Mapped[int | None] = mapped_column(Integer)
    first_article_id: Mapped[int | None] = mapped_column(Integer)
    first_outlet: Mapped[str | None] = mapped_column(Line(limits.NAME))
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outlets: Mapped[str] = mapped_column(Prose, default="[]")  # JSON list, first seen first
    copies: Mapped[int] = mapped_column(Integer, default=0)  # articles + exact-copy entries
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocSignatureRow(Base):
    """The MinHash signature of a seed or a kept article, for near-duplicate lookups."""

    __tablename__ = "doc_signatures"
    __table_args__ = (UniqueConstraint("doc_kind", "doc_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_kind: Mapped[str] = mapped_column(Line(10))  # seed | article
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
    layout: Mapped[str] = mapped_column(Line(20))  # "128x25x5": perms x bands x rows
    key: Mapped[int] = mapped_column(BigInteger, index=True)


class ArticleVersionRow(Base):
    """An earlier text of an article whose page changed, with a short diff to the next."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Prose)
    text: Mapped[str] = mapped_column(Prose)
    content_hash: Mapped[str] = mapped_column(Line(64))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    diff: Mapped[str] = mapped_column(Prose)  # from this version to the next


class DedupOverrideRow(Base):
    """An analyst's "these are not the same story": never merge the pair again."""

    __tablename__ = "dedup_overrides"
    __table_args__ = (UniqueConstraint("article_id", "other_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    other_key: Mapped[str] = mapped_column(Line(40))  # "article:12" | "seed:3"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    previous_decision: Mapped[str] = mapped_column(Prose)


class MentionRow(Base):
    """How often a watched keyword appears in one document (article or seed)."""

    __tablename__ = "keyword_mentions"
    __table_args__ = (UniqueConstraint("keyword", "doc_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(Line(200), index=True)
    doc_key: Mapped[str] = mapped_column(Line(40))  # "article:12" or "seed:3"
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    day: Mapped[date | None] = mapped_column(Date, index=True)
    count: Mapped[int] = mapped_column(Integer)


class FigureReadingRow(Base):
    """One figure read from a sentence of an article or seed (monitor.detect.figures):
    attributed to a tracked item or not (``item`` NULL), in force, threatened or old.
    Every reading is kept; only current, attributed ones can ever feed an alert."""

    __tablename__ = "figure_readings"
    __table_args__ = (UniqueConstraint("doc_key", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_key: Mapped[str] = mapped_column(Line(40))  # "article:12" or "seed:3"
    seq: Mapped[int] = mapped_column(Integer)  # the reading's place in its document
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    item: Mapped[str | None] = mapped_column(Line(100), index=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(Line(20))
    status: Mapped[str] = mapped_column(Line(20))  # current | threat | old
    old_value: Mapped[float | None] = mapped_column(Float)
    sentence_no: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[str] = mapped_column(Prose)
    reason: Mapped[str] = mapped_column(Prose)
    # The reading the document is taken to state for its item (current_figures): one per
    # document and item; only these count towards corroboration.
    chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    outlet: Mapped[str | None] = mapped_column(Line(limits.NAME))  # None for a seed
    # From a feed marked `primary: true` (a government press office): enough on its own.
    primary_source: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    day: Mapped[date | None] = mapped_column(Date)  # local day of publication


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Line(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    rule: Mapped[str] = mapped_column(Line(40))
    keyword: Mapped[str] = mapped_column(Line(200))
    summary: Mapped[str] = mapped_column(Prose)
    old_value: Mapped[str | None] = mapped_column(Line(100))
    new_value: Mapped[str | None] = mapped_column(Line(100))
    sentence: Mapped[str | None] = mapped_column(Prose)
    old_sentence: Mapped[str | None] = mapped_column(Prose)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    # pending → sending → sent | partial (some recipients refused) | unknown (no answer
    # after the message went out; sent again after alerts.resend_unknown_after) | pending
    # again (refused before the message went out) → failed (after alerts.max_attempts);
    # suppressed = a debounced repeat, kept for the record and never sent; unconfirmed = a
    # figure only one outlet reported (listed in the digest, never sent on its own).
    status: Mapped[str] = mapped_column(Line(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Prose)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The email that carries the alert now (alert_emails.id): its last send attempt.
    email_id: Mapped[int | None] = mapped_column(Integer, index=True)
    day: Mapped[date | None] = mapped_column(Date, index=True)  # the counted day, local
    old_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    note: Mapped[str | None] = mapped_column(Prose)  # why suppressed; baseline figures
    details: Mapped[str] = mapped_column(Prose, default="{}", server_default="{}")
    # Figure changes: how many outlets reported the new value; the seed the old came from.
    reported_by: Mapped[int | None] = mapped_column(Integer)
    old_seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))


class AlertArticleRow(Base):
    """Provenance: the articles (or seeds) behind an alert, with the sentence quoted."""

    __tablename__ = "alert_articles"
    __table_args__ = (UniqueConstraint("alert_id", "role", "doc_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    role: Mapped[str] = mapped_column(Line(20))  # new | old | support
    doc_key: Mapped[str] = mapped_column(Line(40))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("seed_documents.id"))
    sentence: Mapped[str | None] = mapped_column(Prose)


class RunRow(Base):
    """One pipeline run for one date, with its summary counts."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[str] = mapped_column(Prose, default="{}")


class AlertEmailRow(Base):
    """One composed alert email (a digest, or an operator's resend of one alert) and how
    its sending went: the exact bytes are kept so an unknown outcome is sent again as
    the same message, Message-ID and all."""

    __tablename__ = "alert_emails"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(Line(300), unique=True)
    kind: Mapped[str] = mapped_column(Line(20))  # digest | resend
    run_date: Mapped[date | None] = mapped_column(Date)
    # sending → sent | partial | unknown | refused (not handed over; composed again)
    status: Mapped[str] = mapped_column(Line(20), index=True)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the first attempt with an unknown outcome began: the resend delay counts from it.
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    via: Mapped[str | None] = mapped_column(Line(2000))  # server (no password) or .eml path
    reply: Mapped[str | None] = mapped_column(Prose)  # the server's answer to the message
    last_error: Mapped[str | None] = mapped_column(Prose)
    mail_from: Mapped[str] = mapped_column(Line(320))
    rcpt_tos: Mapped[str] = mapped_column(Prose, default="[]")  # JSON list, the envelope
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class AlertEmailRecipientRow(Base):
    """What the server answered for one recipient of an alert email (its last attempt)."""

    __tablename__ = "alert_email_recipients"
    __table_args__ = (UniqueConstraint("email_id", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("alert_emails.id"), index=True)
    address: Mapped[str] = mapped_column(Line(320))
    status: Mapped[str] = mapped_column(Line(20))  # accepted | refused
    code: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[str | None] = mapped_column(Prose)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
