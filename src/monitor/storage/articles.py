"""Queries on stored articles and the seed corpus: lookups by canonical URL and content
hash, MinHash signatures, storing an article, and the articles of a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import RejectedItemError
from monitor.storage.base import Queries
from monitor.storage.models import ArticleRow, EntryRow, SeedRow, utcnow


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    title: str
    text: str
    url: str
    source: str
    published_at: datetime | None
    run_date: date | None = None


class ArticleQueries(Queries):
    """Seed documents and articles."""

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

    def articles_by_urls(self, canonical_urls: Iterable[str]) -> dict[str, int]:
        """:meth:`article_by_url` for many URLs at once: those stored, with their id."""
        found: dict[str, int] = {}
        urls = sorted(set(canonical_urls))
        with self.session() as s:
            for chunk in _chunks(urls):
                query = select(ArticleRow.canonical_url, ArticleRow.id).where(
                    ArticleRow.canonical_url.in_(chunk)
                )
                for url, article_id in s.execute(query.order_by(ArticleRow.id.desc())):
                    found[url] = article_id
        return found

    def entries_with_pages(self, canonical_urls: Iterable[str]) -> dict[str, int]:
        """:meth:`entry_with_page` for many URLs at once: the first entry of each URL
        whose page was fetched."""
        found: dict[str, int] = {}
        urls = sorted(set(canonical_urls))
        with self.session() as s:
            for chunk in _chunks(urls):
                query = (
                    select(EntryRow.canonical_url, func.min(EntryRow.id))
                    .where(EntryRow.canonical_url.in_(chunk), EntryRow.page_status == "ok")
                    .group_by(EntryRow.canonical_url)
                )
                found.update({url: entry_id for url, entry_id in s.execute(query) if url})
        return found

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

    def add_article(self, **values: Any) -> int:
        matched = values.pop("matched_terms", {})
        with self.session() as s:
            row = ArticleRow(matched_terms=json.dumps(matched, ensure_ascii=False), **values)
            s.add(row)
            try:
                s.flush()
            except IntegrityError as exc:
                detail = " ".join(str(exc.orig).split())[:300]
                raise RejectedItemError(
                    f"article {values.get('canonical_url')} could not be stored: {detail}"
                ) from exc
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

    # -- work a run owes (resumable runs) ---------------------------------------------

    def _counted(self) -> tuple[Any, ...]:
        return (
            ArticleRow.relevant.is_(True),
            ArticleRow.duplicate_of.is_(None),
            ArticleRow.duplicate_of_seed.is_(None),
        )

    def articles_to_count(self, until: date) -> list[StoredArticle]:
        """Kept relevant articles of runs up to ``until`` whose keyword mentions and
        figures were never recorded, run by run, each run's in publication order."""
        with self.session() as s:
            rows = s.scalars(
                select(ArticleRow)
                .where(*self._counted(), ArticleRow.signals_at.is_(None))
                .where(ArticleRow.run_date <= until)
                .order_by(ArticleRow.run_date, ArticleRow.published_at, ArticleRow.id)
            )
            return [
                StoredArticle(
                    r.id, r.title, r.text, r.canonical_url, r.source, r.published_at, r.run_date
                )
                for r in rows
            ]

    def mark_counted(self, article_id: int) -> None:
        with self.session() as s:
            s.execute(
                update(ArticleRow).where(ArticleRow.id == article_id).values(signals_at=utcnow())
            )

    def days_to_evaluate(self, until: date) -> list[date]:
        """Run dates up to ``until`` with counted articles whose watch rules were never
        evaluated (a run stopped between counting and alerting), oldest first."""
        with self.session() as s:
            return sorted(
                s.scalars(
                    select(ArticleRow.run_date)
                    .where(*self._counted(), ArticleRow.signals_at.is_not(None))
                    .where(ArticleRow.rules_at.is_(None), ArticleRow.run_date <= until)
                    .distinct()
                )
            )

    def mark_evaluated(self, run_date: date) -> None:
        """The watch rules of ``run_date`` were evaluated over its counted articles."""
        with self.session() as s:
            s.execute(
                update(ArticleRow)
                .where(
                    ArticleRow.run_date == run_date,
                    ArticleRow.signals_at.is_not(None),
                    ArticleRow.rules_at.is_(None),
                )
                .values(rules_at=utcnow())
            )


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Slices small enough for any database's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
