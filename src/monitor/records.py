"""Records passed between pipeline stages: frozen, slotted dataclasses.

SQLAlchemy models live only in :mod:`monitor.storage`; every other module works on these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Self


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP GET: a status and a reason, never an exception.

    ``status`` is one of ``ok``, ``not_modified``, ``http_error``, ``network_error``,
    ``timeout``, ``blocked`` (SSRF guard or scheme), ``too_large``, ``too_many_redirects``,
    ``bad_content_type``, ``robots_disallowed`` (robots.txt says no, or could not be read).
    ``attempts`` counts tries including retries of transient failures.
    """

    url: str
    final_url: str
    status: str
    http_status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    elapsed_seconds: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, normalized (UTC times, NFC text, absolute link)."""

    feed_name: str
    guid: str
    link: str
    title: str
    summary: str
    published_at: datetime | None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FeedResult:
    """One feed's fetch-and-parse outcome: ``ok``, ``unchanged`` (304, or the same body
    as last time: not parsed) or ``failed`` with a reason. ``etag``, ``last_modified``
    and ``body_hash`` are what to send and compare next time; ``skipped`` names the
    items that could not be taken."""

    name: str
    url: str
    status: str
    entries: tuple[FeedEntry, ...] = ()
    error: str | None = None
    format: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    skipped: tuple[str, ...] = ()  # items left out, each with why (a link too long…)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the last runs learned about a feed: validators for a conditional GET and
    the failure streak that decides its back-off."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    last_run_date: date | None = None
    next_attempt_on: date | None = None
    failing_since: date | None = None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One row of the ``monitor feeds`` table."""

    name: str
    url: str
    last_status: str | None
    last_error: str | None
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    failing_since: date | None
    next_attempt_on: date | None
    format: str | None
    entries_total: int
    items_per_day: float | None
    last_item_at: datetime | None
    usual_gap_hours: float | None
    # Judged at the time the health was asked for: the feed's dated items up to then (a
    # backfill does not count items published after its day), the first run date on
    # which a fetch succeeded, and the latest run date it was fetched for.
    items_until_now: int = 0
    first_success_run: date | None = None
    latest_run: date | None = None
    failed_items: int = 0  # entries whose page or article the database refused
    last_item_error: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """Text and metadata read from an article page."""

    url: str
    canonical_url: str | None
    title: str | None
    text: str
    published_at: datetime | None
    site_name: str | None
    language: str | None
    description: str | None = None
    # The day as the publisher printed it (published_at is kept in the page's own zone,
    # but a site may give a UTC time and print its local day).
    published_date: date | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a facet's term was found, and whether it counted.

    ``reason`` is None for a counted occurrence, else why it was discounted: another
    sense of the word, boilerplate, an aside about another party, or a passing mention
    (a facet found in one sentence of the body only)."""

    facet: str
    term: str  # the facet's term; an alias is reported under it
    found: str  # the text as written
    part: str  # title | lead | body
    sentence: int  # index of the sentence within its part
    weight: float  # what it added to the facet (0 when discounted)
    reason: str | None = None

    def describe(self) -> str:
        where = f"{self.part} s{self.sentence + 1}"
        if self.reason is None:
            return f"{self.facet}: '{self.found}' ({where}) +{self.weight:g}"
        return f"{self.facet}: '{self.found}' ({where}) discounted: {self.reason}"


@dataclass(frozen=True, slots=True)
class Relevance:
    """How on-topic a text is, and why."""

    score: float
    relevant: bool
    matched: Mapping[str, tuple[str, ...]]  # facet -> terms that matched
    facet_scores: Mapping[str, float] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # facets below their minimum score
    # Where each term was found and whether it counted: detail for `monitor explain`,
    # left out of comparisons.
    occurrences: tuple[Occurrence, ...] = field(default=(), compare=False)

    def explain(self, threshold: float) -> str:
        """One line: the score against the threshold and what each facet matched."""
        parts = [
            f"{name} {self.facet_scores.get(name, 0):g} [{', '.join(terms) or '-'}]"
            for name, terms in self.matched.items()
        ]
        verdict = "relevant" if self.relevant else "off-topic"
        short = f"; too weak: {', '.join(self.missing)}" if self.missing else ""
        return f"{verdict}: score {self.score:g} (threshold {threshold:g}){short}; " + "; ".join(
            parts
        )


@dataclass(frozen=True, slots=True)
class Mention:
    """Watched keyword ``keyword`` found ``count`` times in one document."""

    keyword: str
    count: int


def display_value(value: float, unit: str) -> str:
    """15% · US$165 billion · NT$1.2 trillion · US$150億."""
    text = f"{value:,g}" if value >= 10_000 else f"{value:g}"
    if unit == "%":
        return f"{text}%"
    currency, _, scale = unit.partition(" ")
    if currency in ("US$", "NT$") and scale:
        joiner = "" if scale in ("萬", "億", "兆") else " "
        return f"{currency}{text}{joiner}{scale}"
    return f"{text} {unit}"


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A tracked figure's reading as stored: what one document said, where and when.

    ``outlet`` is None for a seed document (shown as "seed corpus"); ``primary`` marks a
    reading from a feed configured ``primary: true``.
    """

    id: int
    item: str
    value: float
    unit: str
    sentence: str
    doc_key: str
    outlet: str | None
    published_at: datetime | None
    day: date | None
    primary: bool = False
    article_id: int | None = None
    seed_id: int | None = None

    @property
    def source(self) -> str:
        return self.outlet if self.outlet is not None else "seed corpus"


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the email shows it."""

    id: int
    rule: str  # first_mention | spike | drop | figure_change | co_occurrence | feed_health …
    keyword: str
    summary: str
    created_at: datetime
    run_date: date
    old_value: str | None = None
    new_value: str | None = None
    sentence: str | None = None
    old_sentence: str | None = None
    article_title: str | None = None
    article_url: str | None = None
    source: str | None = None
    old_article_title: str | None = None
    old_article_url: str | None = None
    old_source: str | None = None
    day: date | None = None
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    note: str | None = None
    # Figure changes: outlets that reported the new value (the first is linked), when
    # the linked article and the old value's article were published, and whether the
    # old value came from the seed corpus.
    reported_by: int | None = None
    published_at: datetime | None = None
    old_published_at: datetime | None = None
    old_from_seed: bool = False
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryView:
    """A new story of the run as the digest lists it."""

    article_id: int
    title: str
    url: str
    source: str
    lead: str
    other_outlets: int  # outlets that carried a copy of it
    published_at: datetime | None
    also_in: tuple[str, ...] = ()  # those outlets by name, first seen first


@dataclass(frozen=True, slots=True)
class RecipientReply:
    """What the SMTP server answered to one ``RCPT TO``: accepted (250/251) or not."""

    address: str
    accepted: bool
    code: int | None
    reply: str


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """How far one attempt to hand an alert email over got (:mod:`monitor.smtp`).

    ``status``: ``sent`` (the server took the message for every recipient), ``partial``
    (it took the message, some recipients were refused), ``refused`` (nothing was handed
    over, or the server said no to the message: safe to send again) or ``unknown`` (the
    whole message went out and no answer came: the server may have it). ``via`` is the
    server without its password, or the outbox file; ``reply`` the server's answer to the
    message; ``error`` why it is not ``sent``.
    """

    status: str
    via: str
    reply: str | None = None
    error: str | None = None
    recipients: tuple[RecipientReply, ...] = ()

    @property
    def refused(self) -> tuple[RecipientReply, ...]:
        return tuple(r for r in self.recipients if not r.accepted)


# --- what each stage returns ------------------------------------------------------------
# Ids, counts and failures, never bodies: these cross process boundaries as Airflow XCom
# values. ``to_xcom()`` gives plain JSON (lists, numbers, strings); ``from_xcom()`` reads
# it back. Plain JSON rather than Airflow's own dataclass serde, whose deserialization
# only admits classes listed in ``core.allowed_deserialization_classes``.


@dataclass(frozen=True, slots=True)
class Failure:
    """One feed's, item's or page's problem as the run summary lists it."""

    feed: str
    error: str


def _to_json(value: object) -> object:
    if isinstance(value, Failure):
        return {"feed": value.feed, "error": value.error}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


class _XCom:
    """``to_xcom``/``from_xcom`` for a stage result whose fields are ints, strings,
    tuples of ints or strings, and tuples of :class:`Failure`."""

    __slots__ = ()

    def to_xcom(self) -> dict[str, object]:
        return {name: _to_json(getattr(self, name)) for name in self.__dataclass_fields__}  # type: ignore[attr-defined]

    @classmethod
    def from_xcom(cls, data: Mapping[str, object]) -> Self:
        values: dict[str, object] = {}
        for name in cls.__dataclass_fields__:  # type: ignore[attr-defined]
            if name not in data:
                continue  # a field's default
            value = data[name]
            if name == "failures" and isinstance(value, list | tuple):
                value = tuple(
                    v if isinstance(v, Failure) else Failure(str(v["feed"]), str(v["error"]))
                    for v in value
                )
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CollectResult(_XCom):
    """The collect stage (or one feed shard of it)."""

    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_unchanged: int = 0  # of feeds_ok: 304 or the same body as last time
    feeds_skipped: int = 0  # failing feeds waiting out their back-off
    entries: int = 0  # entries in the run's window
    new_entries: int = 0
    entry_ids: tuple[int, ...] = ()
    feed_alert_ids: tuple[int, ...] = ()
    failures: tuple[Failure, ...] = ()

    @classmethod
    def merge(cls, parts: Sequence[CollectResult]) -> CollectResult:
        """The shards' results as one, ids in ascending order."""
        return cls(
            feeds_ok=sum(p.feeds_ok for p in parts),
            feeds_failed=sum(p.feeds_failed for p in parts),
            feeds_unchanged=sum(p.feeds_unchanged for p in parts),
            feeds_skipped=sum(p.feeds_skipped for p in parts),
            entries=sum(p.entries for p in parts),
            new_entries=sum(p.new_entries for p in parts),
            entry_ids=tuple(sorted(i for p in parts for i in p.entry_ids)),
            feed_alert_ids=tuple(sorted(i for p in parts for i in p.feed_alert_ids)),
            failures=tuple(f for p in parts for f in p.failures),
        )


@dataclass(frozen=True, slots=True)
class PageCounts:
    """What :func:`monitor.crawl.fetch_and_extract` fetched."""

    pages_ok: int = 0
    pages_failed: int = 0


@dataclass(frozen=True, slots=True)
class FetchStageResult(_XCom):
    """The fetch stage (or one host shard of it)."""

    pages_ok: int = 0
    pages_failed: int = 0
    known_urls: int = 0  # entries whose canonical URL was stored or fetched before
    resumed: int = 0  # entries an earlier, interrupted run left pending
    entry_ids: tuple[int, ...] = ()
    failures: tuple[Failure, ...] = ()

    @classmethod
    def merge(cls, parts: Sequence[FetchStageResult]) -> FetchStageResult:
        """The shards' results as one, ids in ascending order."""
        return cls(
            pages_ok=sum(p.pages_ok for p in parts),
            pages_failed=sum(p.pages_failed for p in parts),
            known_urls=sum(p.known_urls for p in parts),
            resumed=sum(p.resumed for p in parts),
            entry_ids=tuple(sorted(i for p in parts for i in p.entry_ids)),
            failures=tuple(f for p in parts for f in p.failures),
        )


@dataclass(frozen=True, slots=True)
class StoreResult(_XCom):
    """The store stage."""

    new_articles: int = 0
    duplicates: int = 0  # exact and near
    near_duplicates: int = 0
    off_topic: int = 0
    updated: int = 0
    resumed: int = 0
    article_ids: tuple[int, ...] = ()
    updated_article_ids: tuple[int, ...] = ()
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True, slots=True)
class DetectResult(_XCom):
    """The detect stage."""

    alerts: int = 0
    alert_ids: tuple[int, ...] = ()
    resumed: int = 0
