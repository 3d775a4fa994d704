"""Queries for deduplication and stories: story clusters, article versions, analysts'
overrides, the lookups of the exact rules and the facts ``monitor explain`` shows; and
:class:`DedupStore`, which adds the persisted MinHash signatures and LSH band keys under
one band layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from monitor import limits
from monitor.storage.base import Queries
from monitor.storage.models import (
    ArticleRow,
    ArticleVersionRow,
    DedupOverrideRow,
    DocSignatureRow,
    EntryRow,
    FeedRow,
    LshBandRow,
    SeedRow,
    StoryRow,
    utcnow,
)

if TYPE_CHECKING:
    from monitor.dedup import BandLayout, Candidate, Fingerprint
    from monitor.storage.store import Store


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What the store stage and the explanation need to know about one stored article."""

    id: int
    canonical_url: str
    title: str
    source: str
    published_at: datetime | None
    language: str | None
    text: str
    content_hash: str
    story_id: int | None
    relevance: float
    relevant: bool
    matched_terms: dict[str, list[str]]
    duplicate_of: int | None
    duplicate_of_seed: int | None
    similarity: float | None
    dedup_rule: str | None
    dedup_match: str | None
    decision: str
    version: int


@dataclass(frozen=True, slots=True)
class VersionFacts:
    version: int
    title: str
    stored_at: datetime
    replaced_at: datetime
    diff: str


@dataclass(frozen=True, slots=True)
class StoryFacts:
    id: int
    title: str
    seed_id: int | None
    seed_name: str | None
    canonical_article_id: int | None
    first_outlet: str | None
    first_published_at: datetime | None
    outlets: list[str]
    copies: int


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """A feed item that made no article row (an exact copy) and why."""

    id: int
    feed_name: str
    link: str
    title: str
    state: str
    decision: str | None
    article_id: int | None


def _facts(r: ArticleRow) -> ArticleFacts:
    return ArticleFacts(
        id=r.id,
        canonical_url=r.canonical_url,
        title=r.title,
        source=r.source,
        published_at=r.published_at,
        language=r.language,
        text=r.text,
        content_hash=r.content_hash,
        story_id=r.story_id,
        relevance=r.relevance,
        relevant=r.relevant,
        matched_terms=json.loads(r.matched_terms or "{}"),
        duplicate_of=r.duplicate_of,
        duplicate_of_seed=r.duplicate_of_seed,
        similarity=r.similarity,
        dedup_rule=r.dedup_rule,
        dedup_match=r.dedup_match,
        decision=r.decision,
        version=r.version,
    )


class DedupQueries(Queries):
    """Stories, versions, overrides and the exact-rule lookups."""

    # -- signatures -------------------------------------------------------------------

    def indexed(self, kind: str, doc_id: int) -> bool:
        with self.session() as s:
            found = s.scalar(
                select(DocSignatureRow.id).where(
                    DocSignatureRow.doc_kind == kind, DocSignatureRow.doc_id == doc_id
                )
            )
            return found is not None

    def unindexed_documents(self) -> list[tuple[str, int, datetime | None, str]]:
        """Seeds and kept articles without a signature row: (kind, id, published, text)."""
        with self.session() as s:
            seeds = select(DocSignatureRow.doc_id).where(DocSignatureRow.doc_kind == "seed")
            arts = select(DocSignatureRow.doc_id).where(DocSignatureRow.doc_kind == "article")
            out: list[tuple[str, int, datetime | None, str]] = [
                ("seed", i, None, t)
                for i, t in s.execute(
                    select(SeedRow.id, SeedRow.text).where(SeedRow.id.not_in(seeds))
                )
            ]
            out += [
                ("article", i, p, t)
                for i, p, t in s.execute(
                    select(ArticleRow.id, ArticleRow.published_at, ArticleRow.text).where(
                        ArticleRow.id.not_in(arts),
                        ArticleRow.duplicate_of.is_(None),
                        ArticleRow.duplicate_of_seed.is_(None),
                    )
                )
            ]
            return out

    # -- exact rules ------------------------------------------------------------------

    def article_by_guid(self, guid: str, entry_id: int) -> int | None:
        """The article another feed's item with this GUID became, if any."""
        with self.session() as s:
            return s.scalar(
                select(EntryRow.article_id)
                .where(
                    EntryRow.guid == guid,
                    EntryRow.id != entry_id,
                    EntryRow.article_id.is_not(None),
                )
                .order_by(EntryRow.id)
                .limit(1)
            )

    def articles_with_title(self, source: str, since: datetime | None) -> list[tuple[int, str]]:
        """(id, title) of kept articles from ``source`` published since ``since``."""
        with self.session() as s:
            query = select(ArticleRow.id, ArticleRow.title).where(
                ArticleRow.source == source,
                ArticleRow.duplicate_of.is_(None),
                ArticleRow.duplicate_of_seed.is_(None),
            )
            if since is not None:
                query = query.where(
                    or_(ArticleRow.published_at.is_(None), ArticleRow.published_at >= since)
                )
            return [(i, t) for i, t in s.execute(query.order_by(ArticleRow.id))]

    def entry_guid(self, entry_id: int) -> str:
        with self.session() as s:
            return s.get_one(EntryRow, entry_id).guid

    # -- articles -----------------------------------------------------------------------

    def article(self, article_id: int) -> ArticleFacts | None:
        with self.session() as s:
            row = s.get(ArticleRow, article_id)
            return None if row is None else _facts(row)

    def article_by_ref(self, ref: str) -> ArticleFacts | None:
        """An article by id ("12") or by canonical or entry URL."""
        with self.session() as s:
            row: ArticleRow | None = None
            if ref.isdigit() and int(ref) <= limits.ROW_ID:
                row = s.get(ArticleRow, int(ref))
            if row is None:
                row = s.scalar(select(ArticleRow).where(ArticleRow.canonical_url == ref))
            return None if row is None else _facts(row)

    def entries_by_ref(self, ref: str) -> list[EntryFacts]:
        """Feed items whose link, page URL or canonical URL is ``ref``."""
        with self.session() as s:
            rows = s.execute(
                select(EntryRow, FeedRow.name)
                .join(FeedRow, FeedRow.id == EntryRow.feed_id)
                .where(
                    or_(
                        EntryRow.link == ref,
                        EntryRow.page_url == ref,
                        EntryRow.canonical_url == ref,
                    )
                )
                .order_by(EntryRow.id)
            )
            return [
                EntryFacts(e.id, name, e.link, e.title, e.state, e.decision, e.article_id)
                for e, name in rows
            ]

    def seed_title(self, seed_id: int) -> tuple[str, str, str] | None:
        """(name, title, text) of a seed document."""
        with self.session() as s:
            row = s.get(SeedRow, seed_id)
            return None if row is None else (row.name, row.title, row.text)

    def set_story(self, article_id: int, story_id: int) -> None:
        with self.session() as s:
            s.execute(
                update(ArticleRow).where(ArticleRow.id == article_id).values(story_id=story_id)
            )

    # -- stories ----------------------------------------------------------------------

    def new_story(self, title: str, seed_id: int | None = None) -> int:
        with self.session() as s:
            row = StoryRow(title=title, seed_id=seed_id, outlets="[]", copies=0)
            s.add(row)
            s.flush()
            return row.id

    def seed_story(self, seed_id: int) -> int:
        """The story of a seed document (made on its first copy)."""
        with self.session() as s:
            found = s.scalar(select(StoryRow.id).where(StoryRow.seed_id == seed_id))
            if found is not None:
                return found
            title = s.get_one(SeedRow, seed_id).title
        return self.new_story(title, seed_id)

    def story_of(self, kind: str, doc_id: int) -> int:
        """The story a matched document belongs to (a seed's story is made on demand)."""
        if kind == "seed":
            return self.seed_story(doc_id)
        with self.session() as s:
            story = s.get_one(ArticleRow, doc_id).story_id
        if story is None:  # stored before stories existed
            title = self.article(doc_id)
            story = self.new_story(title.title if title else "")
            self.set_story(doc_id, story)
            self.refresh_story(story)
        return story

    def refresh_story(self, story_id: int) -> None:
        """Recompute a story from its members: the articles in it and the exact-copy feed
        items that pointed at them. First outlet = earliest copy; canonical = a copy
        with page text before feed summaries, then the earliest, then the longest."""
        with self.session() as s:
            story = s.get_one(StoryRow, story_id)
            members = list(s.scalars(select(ArticleRow).where(ArticleRow.story_id == story_id)))
            ids = [m.id for m in members]
            copies: list[tuple[datetime | None, int, str]] = [
                (m.published_at, m.id, m.source) for m in members
            ]
            if ids:
                rows = s.execute(
                    select(
                        EntryRow.id,
                        EntryRow.page_published_at,
                        EntryRow.published_at,
                        EntryRow.source,
                        FeedRow.name,
                    )
                    .join(FeedRow, FeedRow.id == EntryRow.feed_id)
                    .where(
                        EntryRow.article_id.in_(ids),
                        EntryRow.state == "duplicate",
                        EntryRow.text.is_not(None),
                    )
                )
                copies += [
                    (page_at or feed_at, 10**9 + eid, source or feed)
                    for eid, page_at, feed_at, source, feed in rows
                ]
            far = datetime.max.replace(tzinfo=None)

            def when(item: tuple[datetime | None, int, str]) -> tuple[datetime, int]:
                stamp = item[0].replace(tzinfo=None) if item[0] is not None else far
                return stamp, item[1]

            copies.sort(key=when)
            outlets: list[str] = []
            for _at, _id, outlet in copies:
                if outlet not in outlets:
                    outlets.append(outlet)
            story.outlets = json.dumps(outlets, ensure_ascii=False)
            story.copies = len(copies)
            story.first_outlet = copies[0][2] if copies else None
            story.first_published_at = copies[0][0] if copies else None
            if members:
                first = min(members, key=lambda m: when((m.published_at, m.id, "")))
                story.first_article_id = first.id
                best = min(
                    members,
                    key=lambda m: (
                        m.text_source != "page",
                        when((m.published_at, m.id, "")),
                        -len(m.text),
                    ),
                )
                story.canonical_article_id = best.id
                if story.seed_id is None:
                    story.title = best.title
            else:
                story.canonical_article_id = None
            story.updated_at = utcnow()

    def story(self, story_id: int) -> StoryFacts | None:
        with self.session() as s:
            row = s.get(StoryRow, story_id)
            if row is None:
                return None
            seed_name = s.get_one(SeedRow, row.seed_id).name if row.seed_id else None
            return StoryFacts(
                id=row.id,
                title=row.title,
                seed_id=row.seed_id,
                seed_name=seed_name,
                canonical_article_id=row.canonical_article_id,
                first_outlet=row.first_outlet,
                first_published_at=row.first_published_at,
                outlets=json.loads(row.outlets),
                copies=row.copies,
            )

    # -- versions ---------------------------------------------------------------------

    def add_version(self, article_id: int, diff: str, **new_values: object) -> int:
        """Keep the article's current text as a version and store the new one; returns
        the new version number."""
        with self.session() as s:
            row = s.get_one(ArticleRow, article_id)
            s.add(
                ArticleVersionRow(
                    article_id=article_id,
                    version=row.version,
                    title=row.title,
                    text=row.text,
                    content_hash=row.content_hash,
                    stored_at=row.updated_at or row.fetched_at,
                    replaced_at=utcnow(),
                    diff=diff,
                )
            )
            matched = new_values.pop("matched_terms", None)
            if matched is not None:
                row.matched_terms = json.dumps(matched, ensure_ascii=False)
            for key, value in new_values.items():
                setattr(row, key, value)
            row.version += 1
            row.updated_at = utcnow()
            return row.version

    def versions(self, article_id: int) -> list[VersionFacts]:
        with self.session() as s:
            rows = s.scalars(
                select(ArticleVersionRow)
                .where(ArticleVersionRow.article_id == article_id)
                .order_by(ArticleVersionRow.version)
            )
            return [
                VersionFacts(r.version, r.title, r.stored_at, r.replaced_at, r.diff) for r in rows
            ]

    # -- overrides --------------------------------------------------------------------

    def separate(self, article_id: int, other_key: str, decision: str) -> int:
        """Undo a merge: the article leaves its story for a new one of its own, is no
        longer a duplicate, and the pair is recorded so it is never merged again.
        Returns the old story's id."""
        with self.session() as s:
            row = s.get_one(ArticleRow, article_id)
            old_story = row.story_id
            if (
                s.scalar(
                    select(DedupOverrideRow.id).where(
                        DedupOverrideRow.article_id == article_id,
                        DedupOverrideRow.other_key == other_key,
                    )
                )
                is None
            ):
                s.add(
                    DedupOverrideRow(
                        article_id=article_id, other_key=other_key, previous_decision=row.decision
                    )
                )
            story = StoryRow(title=row.title, outlets="[]", copies=0)
            s.add(story)
            s.flush()
            row.story_id = story.id
            row.duplicate_of = None
            row.duplicate_of_seed = None
            row.dedup_rule = "separated"
            row.dedup_match = other_key
            row.decision = decision
            row.updated_at = utcnow()
            new_story = story.id
        self.refresh_story(new_story)
        if old_story is not None:
            self.refresh_story(old_story)
        return old_story or new_story


class DedupStore(DedupQueries):
    """The dedup queries of one :class:`Store`, with its persisted LSH index read and
    written under one band layout (the one the ``dedup`` config gives)."""

    def __init__(self, store: Store, layout: BandLayout) -> None:
        self.store = store
        self.layout = layout

    def session(self) -> AbstractContextManager[Session]:
        return self.store.session()

    # -- signatures and LSH bands ---------------------------------------------------

    def add_signature(
        self, kind: str, doc_id: int, published_at: datetime | None, fp: Fingerprint
    ) -> None:
        """Index a document (replacing its previous signature, if any)."""
        with self.session() as s:
            old = s.scalar(
                select(DocSignatureRow.id).where(
                    DocSignatureRow.doc_kind == kind, DocSignatureRow.doc_id == doc_id
                )
            )
            if old is not None:
                s.execute(delete(LshBandRow).where(LshBandRow.signature_id == old))
                s.execute(delete(DocSignatureRow).where(DocSignatureRow.id == old))
            row = DocSignatureRow(
                doc_kind=kind,
                doc_id=doc_id,
                published_at=published_at,
                shingles=fp.size,
                signature=fp.to_bytes(),
            )
            s.add(row)
            s.flush()
            # One executemany, not one ORM object per band.
            s.execute(
                insert(LshBandRow),
                [
                    {"signature_id": row.id, "layout": self.layout.name, "key": key}
                    for key in self.layout.keys(fp.signature)
                ],
            )

    def add_signatures(self, rows: Iterable[tuple[str, int, datetime | None, Fingerprint]]) -> int:
        """Index many new documents in one transaction with bulk inserts (loads,
        benchmarks); the documents must not be indexed yet."""
        items = list(rows)
        with self.session() as s:
            s.execute(
                insert(DocSignatureRow),
                [
                    {
                        "doc_kind": kind,
                        "doc_id": doc_id,
                        "published_at": published_at,
                        "shingles": fp.size,
                        "signature": fp.to_bytes(),
                    }
                    for kind, doc_id, published_at, fp in items
                ],
            )
            ids = {
                (kind, doc_id): sid
                for sid, kind, doc_id in s.execute(
                    select(DocSignatureRow.id, DocSignatureRow.doc_kind, DocSignatureRow.doc_id)
                )
            }
            s.execute(
                insert(LshBandRow),
                [
                    {"signature_id": ids[(kind, doc_id)], "layout": self.layout.name, "key": key}
                    for kind, doc_id, _p, fp in items
                    for key in self.layout.keys(fp.signature)
                ],
            )
        return len(items)

    def candidates(self, fp: Fingerprint, since: datetime | None) -> list[Candidate]:
        """Documents sharing at least one band key with ``fp``: seeds always, articles
        published (or, undated, indexed) since ``since``."""
        keys = self.layout.keys(fp.signature)
        with self.session() as s:
            ids = select(LshBandRow.signature_id).where(
                LshBandRow.key.in_(keys), LshBandRow.layout == self.layout.name
            )
            query = select(
                DocSignatureRow.doc_kind,
                DocSignatureRow.doc_id,
                DocSignatureRow.signature,
                DocSignatureRow.shingles,
            ).where(DocSignatureRow.id.in_(ids))
            if since is not None:
                query = query.where(
                    or_(
                        DocSignatureRow.doc_kind == "seed",
                        DocSignatureRow.published_at.is_(None),
                        DocSignatureRow.published_at >= since,
                    )
                )
            # Imported here: reading commands (`monitor articles`) need no numpy.
            from monitor.dedup import Candidate

            return [Candidate(k, i, sig, n) for k, i, sig, n in s.execute(query)]

    def relayout(self) -> int:
        """Recompute band keys stored under another layout (num_perm or threshold
        changed in config); returns how many signatures were re-banded."""
        from monitor.dedup import from_bytes

        with self.session() as s:
            stale = s.scalar(
                select(func.count())
                .select_from(LshBandRow)
                .where(LshBandRow.layout != self.layout.name)
            )
            if not stale:
                return 0
            s.execute(delete(LshBandRow))
            n = 0
            for row in s.scalars(select(DocSignatureRow)):
                sig = from_bytes(row.signature, self.layout.num_perm)
                if sig is None:
                    continue
                s.add_all(
                    LshBandRow(signature_id=row.id, layout=self.layout.name, key=key)
                    for key in self.layout.keys(sig)
                )
                n += 1
            return n
