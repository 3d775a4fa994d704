"""Storage: the SQLAlchemy models, the migrations and every query the pipeline makes.

Only this package touches sessions. :class:`Store` (``store.py``) opens the database,
migrates it and composes the queries, one mixin module per concern::

    models.py     the schema: Base, UTCDateTime and every model
    store.py      Store: engine, session(), migrate(), runs and analyst views
    feeds.py      feeds, entries, fetch state, feed health, the page archive
    articles.py   seed documents and articles
    alerts.py     keyword mentions, alerts, story counts, the digest's stories
    figures.py    tracked-figure readings and each item's history
    dedup.py      stories, versions, overrides; DedupStore adds the LSH index
    emails.py     alert emails: claimed before sending, finished after, per-recipient replies

The Alembic migrations stay in ``monitor/migrations``. Every timestamp is stored as
naive UTC and read back as an aware UTC datetime.
"""

from __future__ import annotations

from monitor.storage.alerts import STORY_KEY, Evidence
from monitor.storage.articles import StoredArticle
from monitor.storage.dedup import ArticleFacts, DedupStore, EntryFacts, StoryFacts, VersionFacts
from monitor.storage.feeds import (
    ArchivedPage,
    ExtractedEntry,
    NewArchivedPage,
    PendingEntry,
    RecordedFeed,
)
from monitor.storage.figures import NewReading
from monitor.storage.models import (
    AlertArticleRow,
    AlertEmailRecipientRow,
    AlertEmailRow,
    AlertRow,
    ArticleRow,
    ArticleVersionRow,
    Base,
    DedupOverrideRow,
    DocSignatureRow,
    EntryRow,
    FeedRow,
    FetchRow,
    FigureReadingRow,
    LshBandRow,
    MentionRow,
    PageArchiveRow,
    RunRow,
    SeedRow,
    StoryRow,
    UTCDateTime,
    utcnow,
)
from monitor.storage.store import MIGRATIONS, Store

__all__ = [
    "MIGRATIONS",
    "STORY_KEY",
    "AlertArticleRow",
    "AlertEmailRecipientRow",
    "AlertEmailRow",
    "AlertRow",
    "ArchivedPage",
    "ArticleFacts",
    "ArticleRow",
    "ArticleVersionRow",
    "Base",
    "DedupOverrideRow",
    "DedupStore",
    "DocSignatureRow",
    "EntryFacts",
    "EntryRow",
    "Evidence",
    "ExtractedEntry",
    "FeedRow",
    "FetchRow",
    "FigureReadingRow",
    "LshBandRow",
    "MentionRow",
    "NewReading",
    "PageArchiveRow",
    "NewArchivedPage",
    "PendingEntry",
    "RecordedFeed",
    "RunRow",
    "SeedRow",
    "Store",
    "StoredArticle",
    "StoryFacts",
    "StoryRow",
    "UTCDateTime",
    "VersionFacts",
    "utcnow",
]
