"""What the store stage makes of one extracted entry (:func:`monitor.pipeline.store_articles`).

Exact rules first: the same canonical URL (a changed text fetched from that URL itself
is a new version of the article), the same feed GUID, the same content hash. Then
near-duplicates of seeds or stored articles through the persisted LSH bands, then the
same normalized title from the same outlet. Whatever is stored joins a story. Also keeps
the persisted LSH index current (:func:`index_documents`, run by ``init``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor import dedup, language, relevance
from monitor.config import Config
from monitor.storage import DedupStore, ExtractedEntry, Store
from monitor.text import content_hash, normalize_title, short_diff
from monitor.urls import canonicalize

LOGGER = logging.getLogger(__name__)


def index_documents(cfg: Config, dstore: DedupStore) -> None:
    """Bring the persisted LSH up to date: re-band signatures after a change of
    ``dedup`` settings, sign documents stored before signatures were persisted."""
    rebanded = dstore.relayout()
    if rebanded:
        LOGGER.info("re-banded %d signatures for LSH layout %s", rebanded, dstore.layout.name)
    for kind, doc_id, published_at, body in dstore.unindexed_documents():
        fp = dedup.fingerprint(
            body, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
        )
        dstore.add_signature(kind, doc_id, published_at, fp)


@dataclass(frozen=True, slots=True)
class Match:
    """Why an entry joins an existing story: rule, matched document, similarity."""

    rule: str  # guid | content_hash | near_duplicate | title
    kind: str  # article | seed
    id: int
    similarity: float | None = None
    containment: float | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def describe(self) -> str:
        what = {
            "guid": "same feed GUID as",
            "content_hash": "same text as",
            "near_duplicate": "near-duplicate of",
            "title": "same title from the same outlet as",
        }[self.rule]
        sim = ""
        if self.similarity is not None:
            sim = f" (similarity {self.similarity:.2f}"
            sim += f", containment {self.containment:.2f})" if self.containment else ")"
        return f"{what} {self.kind} #{self.id}{sim}"


def exact_match(
    store: Store, dstore: DedupStore, entry: ExtractedEntry, digest: str
) -> Match | None:
    guid = dstore.entry_guid(entry.id)
    if len(guid) >= 8 and guid != entry.link:
        by_guid = dstore.article_by_guid(guid, entry.id)
        if by_guid is not None:
            return Match("guid", "article", by_guid)
    same_text = store.article_by_hash(digest)
    if same_text is not None:
        return Match("content_hash", "article", same_text)
    same_seed = store.seed_by_hash(digest)
    if same_seed is not None:
        return Match("content_hash", "seed", same_seed)
    return None


def similar_match(
    cfg: Config,
    dstore: DedupStore,
    entry: ExtractedEntry,
    fp: dedup.Fingerprint,
    start: datetime,
) -> Match | None:
    """A near-duplicate (seed, or article of the dedup window before the run's window
    ``start``), else an article from the same outlet with the same normalized title."""
    near = dedup.best_match(
        fp, dstore.candidates(fp, start - timedelta(days=cfg.dedup.window_days)), cfg.dedup
    )
    if near is not None:
        return Match("near_duplicate", near.kind, near.id, near.similarity, near.containment)
    title = normalize_title(entry.title)
    if len(title.split()) < cfg.dedup.title_min_tokens:
        return None
    since = (entry.published_at or start) - timedelta(days=cfg.dedup.title_window_days)
    for article_id, other in dstore.articles_with_title(entry.source, since):
        if normalize_title(other) == title:
            return Match("title", "article", article_id)
    return None


def store_update(
    cfg: Config, dstore: DedupStore, entry: ExtractedEntry, article_id: int, digest: str
) -> str:
    """Same URL, changed text: the old text becomes a version; returns the decision."""
    old = dstore.article(article_id)
    assert old is not None
    fp = dedup.fingerprint(
        entry.text, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
    )
    rel = relevance.score(entry.title, entry.text, cfg.topic)
    diff = short_diff(old.text, entry.text)
    version = dstore.add_version(
        article_id,
        diff,
        title=entry.title,
        text=entry.text,
        text_source=entry.text_source,
        content_hash=digest,
        signature=fp.to_bytes(),
        relevance=rel.score,
        relevant=rel.relevant,
        matched_terms={k: list(v) for k, v in rel.matched.items()},
        language=language.detect(entry.text, entry.language),
    )
    if dstore.indexed("article", article_id):
        dstore.add_signature("article", article_id, old.published_at, fp)
    if old.story_id is not None:
        dstore.refresh_story(old.story_id)
    return f"updated: version {version} of article #{article_id}"


def published_day(cfg: Config, entry: ExtractedEntry, run_date: date) -> date:
    """The article's calendar day: as the page printed it; for a feed's date (kept in
    UTC by feed parsers), the day in the monitor's zone; with no date, the run's day."""
    if entry.published_date is not None:
        return entry.published_date
    if entry.published_at is not None:
        return entry.published_at.astimezone(ZoneInfo(cfg.timezone)).date()
    return run_date


def store_one(
    store: Store,
    dstore: DedupStore,
    cfg: Config,
    entry: ExtractedEntry,
    run_date: date,
    window_start: datetime,
) -> tuple[str, int | None]:
    """Decide what one extracted entry is; returns (outcome, article id).

    ``window_start`` is the start of the run date's window of feed items: near-duplicates
    and same-title copies are looked for in the days before it."""
    url = entry.canonical_url or canonicalize(entry.page_url or entry.link)
    digest = content_hash(entry.text)
    known = store.article_by_url(url)
    if known is not None:
        facts = dstore.article(known)
        # Only a fetch of the article's own URL may change it: a page elsewhere that
        # names it as its canonical is a copy at most.
        own = url in {canonicalize(u) for u in (entry.page_url, entry.link) if u}
        if (
            facts is not None
            and facts.content_hash != digest
            and entry.text_source == "page"
            and own
        ):
            decision = store_update(cfg, dstore, entry, known, digest)
            store.close_entry(entry.id, "stored", decision, known)
            return "updated", known
        store.close_entry(
            entry.id, "duplicate", f"duplicate (canonical_url): same URL as article #{known}", known
        )
        return "duplicate", None
    exact = exact_match(store, dstore, entry, digest)
    if exact is not None:
        article_id = exact.id if exact.kind == "article" else None
        store.close_entry(
            entry.id, "duplicate", f"duplicate ({exact.rule}): {exact.describe()}", article_id
        )
        if article_id is not None:
            dstore.refresh_story(dstore.story_of("article", article_id))
        return "duplicate", None
    fp = dedup.fingerprint(
        entry.text, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
    )
    match = similar_match(cfg, dstore, entry, fp, window_start)
    rel = relevance.score(entry.title, entry.text, cfg.topic)
    if match is not None:
        decision = f"duplicate ({match.rule}): {match.describe()}"
    else:
        decision = f"kept: {rel.explain(cfg.topic.threshold)}"
    article_id = store.add_article(
        canonical_url=url,
        title=entry.title,
        source=entry.source,
        published_at=entry.published_at,
        published_source=entry.published_source,
        published_date=published_day(cfg, entry, run_date),
        run_date=run_date,
        language=language.detect(entry.text, entry.language),
        text=entry.text,
        text_source=entry.text_source,
        content_hash=digest,
        signature=fp.to_bytes(),
        relevance=rel.score,
        relevant=rel.relevant,
        matched_terms={k: list(v) for k, v in rel.matched.items()},
        duplicate_of=match.id if match is not None and match.kind == "article" else None,
        duplicate_of_seed=match.id if match is not None and match.kind == "seed" else None,
        similarity=match.similarity if match is not None else None,
        decision=decision,
        dedup_rule=match.rule if match is not None else "kept",
        dedup_match=match.key if match is not None else None,
    )
    store.close_entry(entry.id, "stored", decision, article_id)
    if match is not None:
        story = dstore.story_of(match.kind, match.id)
    else:
        story = dstore.new_story(entry.title)
        dstore.add_signature("article", article_id, entry.published_at, fp)
    dstore.set_story(article_id, story)
    dstore.refresh_story(story)
    if match is not None:
        return "near_duplicate", article_id
    return ("kept" if rel.relevant else "off_topic"), article_id
