"""Queries behind change detection and the alert email: keyword mentions,
alerts with their evidence and send state, story counts per keyword and day, and the
run's new stories for the digest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from monitor.records import AlertView, StoryView
from monitor.storage.base import Queries
from monitor.storage.models import (
    AlertArticleRow,
    AlertRow,
    ArticleRow,
    MentionRow,
    StoryRow,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One document behind an alert: ``doc_key`` is ``article:12`` or ``seed:3``."""

    role: str  # new | old | support
    doc_key: str
    sentence: str | None = None


# What one story is when counting: the story cluster (monitor.storage.dedup), so wire
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


class AlertQueries(Queries):
    """Mentions, figures, alerts and the counting of stories."""

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
            if article_id is not None and day is not None:
                s.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(day=day))
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
            try:
                # A savepoint, so a lost race undoes this insert alone, not the rest of
                # an enclosing Store.transaction().
                with s.begin_nested():
                    s.add(row)
            except IntegrityError:
                # Another attempt of this run inserted the same key first.
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
        """The newest alert (not suppressed, not an unconfirmed figure) of ``rule`` on
        ``keyword`` for a day in [since, until]: what a new one would repeat within the
        cool-down."""
        with self.session() as s:
            return s.scalar(
                select(AlertRow.id)
                .where(
                    AlertRow.rule == rule,
                    AlertRow.keyword == keyword,
                    AlertRow.status.not_in(("suppressed", "unconfirmed")),
                    AlertRow.day >= since,
                    AlertRow.day <= until,
                )
                .order_by(AlertRow.day.desc(), AlertRow.id.desc())
                .limit(1)
            )

    def _alert_views(self, s: Session, where: Any) -> list[AlertView]:
        old = aliased(ArticleRow)
        rows = s.execute(
            select(
                AlertRow,
                ArticleRow.title,
                ArticleRow.canonical_url,
                ArticleRow.source,
                ArticleRow.published_at,
                old.title,
                old.canonical_url,
                old.source,
                old.published_at,
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
                reported_by=a.reported_by,
                published_at=published,
                old_published_at=old_published,
                old_from_seed=a.old_seed_id is not None,
                outlets=tuple(json.loads(a.details or "{}").get("outlets", ())),
            )
            for (
                a,
                title,
                url,
                source,
                published,
                old_title,
                old_url,
                old_source,
                old_published,
            ) in rows
        ]

    def pending_alerts(self) -> list[AlertView]:
        with self.session() as s:
            return self._alert_views(s, AlertRow.status == "pending")

    def unconfirmed_alerts(self, run_date: date) -> list[AlertView]:
        """Figures only one outlet has reported so far, found by the run of ``run_date``
        (the digest lists them under "Unconfirmed")."""
        with self.session() as s:
            return self._alert_views(
                s, (AlertRow.status == "unconfirmed") & (AlertRow.run_date == run_date)
            )

    def alert(self, alert_id: int) -> AlertView | None:
        with self.session() as s:
            found = self._alert_views(s, AlertRow.id == alert_id)
            return found[0] if found else None

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

    def new_stories(
        self, run_date: date, limit: int, since: datetime | None = None
    ) -> list[StoryView]:
        """The run's new relevant stories, with how many other outlets carried a copy;
        with ``since``, not an article published before it (an old page found today)."""
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(ArticleRow)
                    .where(
                        ArticleRow.run_date == run_date,
                        ArticleRow.relevant.is_(True),
                        *_not_a_copy(),
                        *(
                            ()
                            if since is None
                            else (
                                or_(
                                    ArticleRow.published_at.is_(None),
                                    ArticleRow.published_at >= since,
                                ),
                            )
                        ),
                    )
                    .order_by(ArticleRow.published_at, ArticleRow.id)
                    .limit(limit)
                )
            )
            out: list[StoryView] = []
            for r in rows:
                story = s.get(StoryRow, r.story_id) if r.story_id is not None else None
                outlets = json.loads(story.outlets) if story is not None else []
                others = tuple(dict.fromkeys(o for o in outlets if o != r.source))
                out.append(
                    StoryView(
                        article_id=r.id,
                        title=r.title,
                        url=r.canonical_url,
                        source=r.source,
                        lead=_lead(r.text, r.title),
                        other_outlets=len(others),
                        published_at=r.published_at,
                        also_in=others,
                    )
                )
            return out
