"""What the analysts' web view reads: stories with filters, one story with every copy
and why it was merged, keyword counts per day with the alerts on them, and the alert
log with its provenance. Read-only; every result is a frozen record.

Text search is not done here: the page hands :meth:`BrowseQueries.stories` the hits of
the full-text search ``monitor search`` runs (:mod:`monitor.storage.search`), and the
list keeps their articles in their order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from monitor.storage.base import Queries
from monitor.storage.models import (
    AlertArticleRow,
    AlertRow,
    ArticleRow,
    EntryRow,
    FeedRow,
    MentionRow,
    SeedRow,
    StoryRow,
)
from monitor.storage.search import SearchHit


@dataclass(frozen=True, slots=True)
class StoryHit:
    """One story in the list: its kept (canonical) article and the story's reach."""

    story_id: int | None
    article_id: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    language: str | None
    outlets: tuple[str, ...]
    copies: int
    keywords: tuple[str, ...]
    snippet: str


@dataclass(frozen=True, slots=True)
class StoryMember:
    """An article of a story: the kept one, or a copy with why it was merged."""

    article_id: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    fetched_at: datetime | None
    canonical: bool
    rule: str | None  # near_duplicate, same_title, … ; None for the kept article
    similarity: float | None
    decision: str


@dataclass(frozen=True, slots=True)
class ExactCopy:
    """A feed item that was the same page as a stored article (no article of its own)."""

    feed: str
    link: str
    published_at: datetime | None
    first_seen_at: datetime | None
    decision: str


@dataclass(frozen=True, slots=True)
class StoryDetail:
    story_id: int
    title: str
    first_outlet: str | None
    first_published_at: datetime | None
    outlets: tuple[str, ...]
    copies: int
    seed_name: str | None
    members: tuple[StoryMember, ...]
    exact_copies: tuple[ExactCopy, ...]


@dataclass(frozen=True, slots=True)
class DayAlert:
    """An alert as the trend chart marks it: on its keyword's counted day."""

    alert_id: int
    keyword: str
    day: date
    rule: str
    summary: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """One document behind an alert: the new article, the older one it was compared
    with, or a supporting one, with the sentence quoted."""

    role: str
    source: str
    title: str
    url: str | None
    published_at: datetime | None
    sentence: str | None


@dataclass(frozen=True, slots=True)
class AlertEntry:
    alert_id: int
    created_at: datetime
    run_date: date
    day: date | None
    rule: str
    keyword: str
    summary: str
    old_value: str | None
    new_value: str | None
    status: str
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    note: str | None
    evidence: tuple[Evidence, ...]


def _kept() -> tuple[Any, ...]:
    return (
        ArticleRow.relevant.is_(True),
        ArticleRow.duplicate_of.is_(None),
        ArticleRow.duplicate_of_seed.is_(None),
    )


def _snippet(text: str, query: str, title: str = "", size: int = 220) -> str:
    """Some words of ``text`` around the first hit of ``query`` (or its lead), without
    the title when the text starts with it (the card shows the title already)."""
    flat = " ".join(text.split())
    heading = " ".join(title.split())
    if heading and flat.startswith(heading):
        flat = flat[len(heading) :].lstrip(" .:-–—")
    at = flat.lower().find(query.strip().lower()) if query.strip() else -1
    if at < 0:
        return flat[:size] + ("…" if len(flat) > size else "")
    start = max(at - size // 3, 0)
    piece = flat[start : start + size]
    return ("…" if start else "") + piece + ("…" if start + size < len(flat) else "")


class BrowseQueries(Queries):
    """Read-only queries of the web view (a mixin of :class:`~monitor.storage.Store`)."""

    def outlets(self) -> list[str]:
        with self.session() as s:
            rows = s.scalars(select(ArticleRow.source).where(*_kept()).distinct())
            return sorted(r for r in rows if r)

    def languages(self) -> list[str]:
        with self.session() as s:
            rows = s.scalars(select(ArticleRow.language).where(*_kept()).distinct())
            return sorted(r for r in rows if r)

    def newest_article_time(self) -> datetime | None:
        with self.session() as s:
            found: datetime | None = s.scalar(select(func.max(ArticleRow.published_at)))
            return found

    def stories(
        self,
        *,
        found: Sequence[SearchHit] | None = None,
        keyword: str | None = None,
        outlet: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        language: str | None = None,
        limit: int = 200,
    ) -> list[StoryHit]:
        """Kept stories, newest first, narrowed by watched keyword (as counted in the
        keyword mentions), outlet, a UTC time range and language. Given the hits of a
        search (``found``), only their articles, in the search's order."""
        conditions: list[Any] = list(_kept())
        terms: dict[int, str] = {}
        if found is not None:
            terms = {hit.id: hit.term for hit in found}
            conditions.append(ArticleRow.id.in_(list(terms)))
        if keyword:
            conditions.append(
                ArticleRow.id.in_(
                    select(MentionRow.article_id).where(
                        MentionRow.keyword == keyword, MentionRow.count > 0
                    )
                )
            )
        if outlet:
            conditions.append(ArticleRow.source == outlet)
        if language:
            conditions.append(ArticleRow.language == language)
        if since is not None:
            conditions.append(ArticleRow.published_at >= since)
        if until is not None:
            conditions.append(ArticleRow.published_at < until)
        with self.session() as s:
            rows = s.execute(
                select(ArticleRow, StoryRow)
                .outerjoin(StoryRow, StoryRow.id == ArticleRow.story_id)
                .where(*conditions)
                .order_by(ArticleRow.published_at.desc(), ArticleRow.id.desc())
                .limit(None if found is not None else limit)
            ).all()
            if found is not None:
                rank = {hit.id: n for n, hit in enumerate(found)}
                rows = sorted(rows, key=lambda row: rank[row[0].id])[:limit]
            ids = [a.id for a, _ in rows]
            mentioned: dict[int, list[str]] = {}
            if ids:
                for article_id, name in s.execute(
                    select(MentionRow.article_id, MentionRow.keyword)
                    .where(MentionRow.article_id.in_(ids), MentionRow.count > 0)
                    .order_by(MentionRow.keyword)
                ):
                    if article_id is not None:
                        mentioned.setdefault(article_id, []).append(name)
            return [
                StoryHit(
                    story_id=a.story_id,
                    article_id=a.id,
                    title=a.title,
                    url=a.canonical_url,
                    source=a.source,
                    published_at=a.published_at,
                    language=a.language,
                    outlets=tuple(json.loads(story.outlets)) if story else (a.source,),
                    copies=story.copies if story else 1,
                    keywords=tuple(mentioned.get(a.id, ())),
                    snippet=_snippet(a.text, terms.get(a.id, ""), a.title),
                )
                for a, story in rows
            ]

    def story_detail(self, story_id: int) -> StoryDetail | None:
        """A story with every article in it, the kept one first, and the feed items that
        were exact copies of them."""
        with self.session() as s:
            story = s.get(StoryRow, story_id)
            if story is None:
                return None
            seed = s.get(SeedRow, story.seed_id) if story.seed_id is not None else None
            articles = list(
                s.scalars(
                    select(ArticleRow)
                    .where(ArticleRow.story_id == story_id)
                    .order_by(ArticleRow.published_at, ArticleRow.id)
                )
            )
            members = sorted(
                (
                    StoryMember(
                        article_id=a.id,
                        title=a.title,
                        url=a.canonical_url,
                        source=a.source,
                        published_at=a.published_at,
                        fetched_at=a.fetched_at,
                        canonical=a.id == story.canonical_article_id,
                        rule=None if a.id == story.canonical_article_id else a.dedup_rule,
                        similarity=a.similarity,
                        decision=a.decision,
                    )
                    for a in articles
                ),
                key=lambda m: not m.canonical,
            )
            copies: list[ExactCopy] = []
            if articles:
                for entry, feed_name in s.execute(
                    select(EntryRow, FeedRow.name)
                    .join(FeedRow, FeedRow.id == EntryRow.feed_id)
                    .where(
                        EntryRow.article_id.in_([a.id for a in articles]),
                        EntryRow.state == "duplicate",
                    )
                    .order_by(EntryRow.first_seen_at, EntryRow.id)
                ):
                    copies.append(
                        ExactCopy(
                            feed=feed_name,
                            link=entry.link,
                            published_at=entry.published_at,
                            first_seen_at=entry.first_seen_at,
                            decision=entry.decision or entry.state,
                        )
                    )
            return StoryDetail(
                story_id=story.id,
                title=story.title,
                first_outlet=story.first_outlet,
                first_published_at=story.first_published_at,
                outlets=tuple(json.loads(story.outlets)),
                copies=story.copies,
                seed_name=seed.name if seed is not None else None,
                members=tuple(members),
                exact_copies=tuple(copies),
            )

    def mention_days(self) -> tuple[date, date] | None:
        """The first and last local day any stored article was counted on."""
        with self.session() as s:
            first, last = s.execute(
                select(func.min(MentionRow.day), func.max(MentionRow.day)).where(
                    MentionRow.article_id.is_not(None)
                )
            ).one()
            return None if first is None or last is None else (first, last)

    def day_alerts(self, keywords: Sequence[str], start: date, end: date) -> list[DayAlert]:
        """Alerts on these keywords whose counted day (or run date) is in [start, end]."""
        day = func.coalesce(AlertRow.day, AlertRow.run_date)
        with self.session() as s:
            rows = s.execute(
                select(AlertRow.id, AlertRow.keyword, day, AlertRow.rule, AlertRow.summary)
                .where(AlertRow.keyword.in_(list(keywords)), day >= start, day <= end)
                .where(AlertRow.status != "suppressed")
                .order_by(AlertRow.id)
            )
            return [
                DayAlert(int(i), k, d if isinstance(d, date) else date.fromisoformat(str(d)), r, m)
                for i, k, d, r, m in rows
            ]

    def alert_log(self, limit: int = 500) -> list[AlertEntry]:
        """Every alert, newest first, with the documents and sentences behind it."""
        with self.session() as s:
            alerts = list(s.scalars(select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)))
            evidence: dict[int, list[Evidence]] = {}
            if alerts:
                rows = s.execute(
                    select(AlertArticleRow, ArticleRow, SeedRow)
                    .outerjoin(ArticleRow, ArticleRow.id == AlertArticleRow.article_id)
                    .outerjoin(SeedRow, SeedRow.id == AlertArticleRow.seed_id)
                    .where(AlertArticleRow.alert_id.in_([a.id for a in alerts]))
                    .order_by(AlertArticleRow.alert_id, AlertArticleRow.id)
                )
                for link, article, seed in rows:
                    if article is not None:
                        item = Evidence(
                            link.role,
                            article.source,
                            article.title,
                            article.canonical_url,
                            article.published_at,
                            link.sentence,
                        )
                    else:
                        name = seed.name if seed is not None else link.doc_key
                        title = seed.title if seed is not None else ""
                        item = Evidence(link.role, f"seed {name}", title, None, None, link.sentence)
                    evidence.setdefault(link.alert_id, []).append(item)
            return [
                AlertEntry(
                    alert_id=a.id,
                    created_at=a.created_at,
                    run_date=a.run_date,
                    day=a.day,
                    rule=a.rule,
                    keyword=a.keyword,
                    summary=a.summary,
                    old_value=a.old_value,
                    new_value=a.new_value,
                    status=a.status,
                    sent_at=a.sent_at,
                    attempts=a.attempts,
                    last_error=a.last_error,
                    note=a.note,
                    evidence=tuple(evidence.get(a.id, ())),
                )
                for a in alerts
            ]
