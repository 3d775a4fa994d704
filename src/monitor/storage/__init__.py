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

The names below are imported on first use (PEP 562): SQLAlchemy and the models take
about half a second to import, and the listing commands (``monitor articles``) read the
views through :mod:`monitor.storage.views` without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_WHERE = {
    "AlertArticleRow": "monitor.storage.models",
    "AlertEmailRecipientRow": "monitor.storage.models",
    "AlertEmailRow": "monitor.storage.models",
    "AlertRow": "monitor.storage.models",
    "ArchivedPage": "monitor.storage.feeds",
    "ArticleFacts": "monitor.storage.dedup",
    "ArticleRow": "monitor.storage.models",
    "ArticleVersionRow": "monitor.storage.models",
    "Base": "monitor.storage.models",
    "DedupOverrideRow": "monitor.storage.models",
    "DedupStore": "monitor.storage.dedup",
    "DocSignatureRow": "monitor.storage.models",
    "EntryFacts": "monitor.storage.dedup",
    "EntryRow": "monitor.storage.models",
    "Evidence": "monitor.storage.alerts",
    "ExtractedEntry": "monitor.storage.feeds",
    "FeedRow": "monitor.storage.models",
    "FetchRow": "monitor.storage.models",
    "FigureReadingRow": "monitor.storage.models",
    "LshBandRow": "monitor.storage.models",
    "MIGRATIONS": "monitor.storage.store",
    "NewArchivedPage": "monitor.storage.feeds",
    "MentionRow": "monitor.storage.models",
    "NewReading": "monitor.storage.figures",
    "PageArchiveRow": "monitor.storage.models",
    "PendingEntry": "monitor.storage.feeds",
    "RecordedFeed": "monitor.storage.feeds",
    "RunRow": "monitor.storage.models",
    "STORY_KEY": "monitor.storage.alerts",
    "SeedRow": "monitor.storage.models",
    "Store": "monitor.storage.store",
    "StoredArticle": "monitor.storage.articles",
    "StoryFacts": "monitor.storage.dedup",
    "StoryRow": "monitor.storage.models",
    "UTCDateTime": "monitor.storage.models",
    "VersionFacts": "monitor.storage.dedup",
    "utcnow": "monitor.storage.models",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, found without this hook
    return value
