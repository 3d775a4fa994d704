"""Queries behind tracked figures: every reading of every document, and each tracked
item's history as of a moment (what the figure-change rule replays)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from monitor.records import StoredReading
from monitor.storage.base import Queries
from monitor.storage.models import EntryRow, FeedRow, FigureReadingRow


@dataclass(frozen=True, slots=True)
class NewReading:
    """A reading to store: the figure reader's fields plus where the document came from."""

    item: str | None
    value: float
    unit: str
    status: str  # current | threat | old
    old_value: float | None
    sentence_no: int
    sentence: str
    reason: str
    chosen: bool = False  # the document's figure for its item (current_figures)


class FigureQueries(Queries):
    """Readings of tracked figures."""

    def has_readings(self, doc_key: str) -> bool:
        with self.session() as s:
            found = s.scalar(
                select(FigureReadingRow.id).where(FigureReadingRow.doc_key == doc_key).limit(1)
            )
            return found is not None

    def add_readings(
        self,
        doc_key: str,
        readings: Sequence[NewReading],
        *,
        outlet: str | None,
        published_at: datetime | None,
        day: date | None,
        primary: bool = False,
        article_id: int | None = None,
        seed_id: int | None = None,
    ) -> None:
        """Store a document's readings once: a document already read is left alone."""
        with self.session() as s:
            if s.scalar(
                select(FigureReadingRow.id).where(FigureReadingRow.doc_key == doc_key).limit(1)
            ):
                return
            for seq, r in enumerate(readings):
                s.add(
                    FigureReadingRow(
                        doc_key=doc_key,
                        seq=seq,
                        article_id=article_id,
                        seed_id=seed_id,
                        item=r.item,
                        value=r.value,
                        unit=r.unit,
                        status=r.status,
                        old_value=r.old_value,
                        sentence_no=r.sentence_no,
                        sentence=r.sentence,
                        reason=r.reason,
                        chosen=r.chosen,
                        outlet=outlet,
                        primary_source=primary,
                        published_at=published_at,
                        day=day,
                    )
                )

    def item_readings(self, item: str, unit: str, until: date) -> list[StoredReading]:
        """Each document's current figure for a tracked item in ``unit`` (values are only
        compared within one unit): the seeds', then every article's counted on a local
        day up to ``until`` (the item's history as of that day)."""
        with self.session() as s:
            rows = s.scalars(
                select(FigureReadingRow)
                .where(
                    FigureReadingRow.item == item,
                    FigureReadingRow.unit == unit,
                    FigureReadingRow.status == "current",
                    FigureReadingRow.chosen.is_(True),
                    (FigureReadingRow.seed_id.is_not(None)) | (FigureReadingRow.day <= until),
                )
                .order_by(FigureReadingRow.day, FigureReadingRow.id)
            )
            return [
                StoredReading(
                    id=r.id,
                    item=item,
                    value=r.value,
                    unit=r.unit,
                    sentence=r.sentence,
                    doc_key=r.doc_key,
                    outlet=r.outlet,
                    published_at=r.published_at,
                    day=r.day,
                    primary=r.primary_source,
                    article_id=r.article_id,
                    seed_id=r.seed_id,
                )
                for r in rows
            ]

    def articles_from_feeds(self, ids: Sequence[int], feed_urls: Collection[str]) -> set[int]:
        """Which of the articles came in through an entry of one of these feeds."""
        if not ids or not feed_urls:
            return set()
        with self.session() as s:
            found = s.scalars(
                select(EntryRow.article_id)
                .join(FeedRow, FeedRow.id == EntryRow.feed_id)
                .where(EntryRow.article_id.in_(list(ids)), FeedRow.url.in_(list(feed_urls)))
            )
            return {int(i) for i in found if i is not None}
