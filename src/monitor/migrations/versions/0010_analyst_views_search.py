"""analyst views and full-text search: articles.day, v_keyword_daily, v_figures,
v_story_outlets, v_feed_health, v_runs, a wider v_articles; FTS5 (SQLite) and
tsvector + pg_trgm (PostgreSQL), with the search as a SQL function on PostgreSQL

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:00:00

The naming rule for analysts: what they query starts with ``v_`` (views) or is
``search_articles`` (PostgreSQL); every other table is the pipeline's own and may change.
``monitor grant-analyst`` grants exactly those objects (see ``monitor.storage.analyst``).

SQLite keeps ``articles_fts`` (FTS5, trigram tokenizer, so Chinese words of three or more
characters are found as well as English ones) in step with ``articles`` by triggers. A
later migration that rebuilds ``articles`` on SQLite (``batch_alter_table``) drops those
triggers with the old table: it must create them again (``SQLITE_FTS_TRIGGERS``) and
``INSERT INTO articles_fts(articles_fts) VALUES('rebuild')``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# -- views shared by both databases ---------------------------------------------------------

# 0001's columns in their order, then story, matched terms and the local day.
V_ARTICLES = """
CREATE VIEW v_articles AS
SELECT id, canonical_url AS url, title, source, published_at, fetched_at, language,
       text AS body, relevance, run_date, story_id, matched_terms, day
FROM articles
WHERE relevant AND duplicate_of IS NULL AND duplicate_of_seed IS NULL
"""

V_ARTICLES_0001 = """
CREATE VIEW v_articles AS
SELECT id, canonical_url AS url, title, source, published_at, fetched_at, language,
       text AS body, relevance, run_date
FROM articles
WHERE relevant AND duplicate_of IS NULL AND duplicate_of_seed IS NULL
"""

# Per local day and keyword: stories (distinct story clusters among kept articles),
# mentions (occurrences), and the share of that day's kept stories that mention it.
V_KEYWORD_DAILY = """
CREATE VIEW v_keyword_daily AS
WITH day_stories AS (
    SELECT day, COUNT(DISTINCT COALESCE(story_id, -id)) AS stories
    FROM v_articles
    WHERE day IS NOT NULL
    GROUP BY day
), counted AS (
    SELECT m.day, m.keyword,
           COUNT(DISTINCT COALESCE(a.story_id, -a.id)) AS stories,
           SUM(m.count) AS mentions
    FROM keyword_mentions m
    JOIN v_articles a ON a.id = m.article_id
    WHERE m.day IS NOT NULL
    GROUP BY m.day, m.keyword
)
SELECT c.day, c.keyword, c.stories, c.mentions, d.stories AS day_stories,
       ROUND(c.stories * 1.0 / d.stories, 4) AS share
FROM counted c
JOIN day_stories d ON d.day = c.day
"""

# Readings of tracked figures (watch.tracked) in kept articles: every attributed
# reading, with its status (current, threat, old) and whether it is the one the
# article is taken to state for its item (chosen).
V_FIGURES = """
CREATE VIEW v_figures AS
SELECT r.id, r.item, r.value, r.unit, r.status, r.old_value, r.chosen, r.sentence,
       r.outlet, a.id AS article_id, a.canonical_url AS article_url,
       a.title AS article_title, COALESCE(r.day, a.day) AS day, r.published_at
FROM figure_readings r
JOIN articles a ON a.id = r.article_id
WHERE r.item IS NOT NULL
  AND a.relevant AND a.duplicate_of IS NULL AND a.duplicate_of_seed IS NULL
"""

# Every outlet copy of every story: the stored articles (the kept one and those merged
# into it) and the feed items dropped as exact copies of one of them.
V_STORY_OUTLETS = """
CREATE VIEW v_story_outlets AS
SELECT a.story_id, a.source AS outlet, 'article' AS copy_kind, a.id AS article_id,
       NULL AS entry_id, a.canonical_url AS url, a.published_at,
       COALESCE(a.dedup_rule, 'kept') AS rule,
       CASE WHEN s.canonical_article_id = a.id THEN 1 ELSE 0 END AS is_canonical
FROM articles a
JOIN stories s ON s.id = a.story_id
UNION ALL
SELECT a.story_id, COALESCE(e.source, f.name) AS outlet, 'feed item' AS copy_kind,
       a.id AS article_id, e.id AS entry_id, COALESCE(e.canonical_url, e.page_url, e.link),
       COALESCE(e.page_published_at, e.published_at), 'exact copy', 0
FROM entries e
JOIN feeds f ON f.id = e.feed_id
JOIN articles a ON a.id = e.article_id
WHERE e.state = 'duplicate' AND e.text IS NOT NULL AND a.story_id IS NOT NULL
"""

V_FEED_HEALTH = """
CREATE VIEW v_feed_health AS
SELECT f.id AS feed_id, f.name AS feed, f.url, f.language, f.last_status, f.last_error,
       f.last_fetched_at, f.last_success_at, f.consecutive_failures, f.failing_since,
       f.next_attempt_on, f.last_format,
       (SELECT COUNT(*) FROM fetches x WHERE x.feed_id = f.id) AS fetches,
       (SELECT COUNT(*) FROM fetches x WHERE x.feed_id = f.id AND x.status <> 'ok')
           AS failed_fetches,
       (SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id) AS items,
       (SELECT MAX(COALESCE(e.published_at, e.first_seen_at)) FROM entries e
         WHERE e.feed_id = f.id) AS last_item_at
FROM feeds f
"""

# One row per run, its summary counts taken out of the stats JSON.
RUN_FIELDS = (
    "feeds_ok",
    "feeds_failed",
    "feeds_unchanged",
    "feeds_skipped",
    "entries",
    "new_entries",
    "pages_ok",
    "pages_failed",
    "new_articles",
    "duplicates",
    "off_topic",
    "alerts_raised",
    "alerts_sent",
)


def _v_runs(dialect: str) -> str:
    if dialect == "postgresql":
        fields = ",\n       ".join(
            f"CAST(CAST(stats AS json) ->> '{f}' AS INTEGER) AS {f}" for f in RUN_FIELDS
        )
        delivery = "CAST(stats AS json) ->> 'delivery_status'"
    else:
        fields = ",\n       ".join(
            f"CAST(json_extract(stats, '$.{f}') AS INTEGER) AS {f}" for f in RUN_FIELDS
        )
        delivery = "json_extract(stats, '$.delivery_status')"
    return f"""
CREATE VIEW v_runs AS
SELECT id, run_date, started_at, finished_at,
       {fields},
       {delivery} AS delivery_status
FROM runs
"""


# -- full-text search -----------------------------------------------------------------------

SQLITE_FTS = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text, content='articles', content_rowid='id', tokenize='trigram'
)
"""

SQLITE_FTS_TRIGGERS = (
    """
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END
""",
    """
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END
""",
    """
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END
""",
)

PG_SEARCH_VECTOR = """
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(text, '')), 'B')
) STORED
"""

# The search the CLI runs and analysts call: English words through the tsvector (stems:
# "tariffs" finds "tariff"), any other string (Chinese) as a substring through the
# trigram indexes. Rank: ts_rank, plus 1 for the string in the title, 0.1 in the text.
# SECURITY DEFINER so that a role that may only read the views can call it.
PG_SEARCH_FUNCTION = r"""
CREATE FUNCTION search_articles(
    q text, since_day date DEFAULT NULL, only_outlet text DEFAULT NULL,
    max_rows integer DEFAULT 20
) RETURNS TABLE (
    id integer, title text, outlet text, published_at timestamp, day date, url text,
    rank double precision, snippet text
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
WITH query AS (
    SELECT websearch_to_tsquery('english', q) AS tsq, lower(q) AS term,
           '%' || replace(replace(replace(q, '\', '\\'), '%', '\%'), '_', '\_') || '%'
               AS pattern
), hits AS (
    SELECT a.id, a.published_at, a.search_vector @@ query.tsq AS by_words,
           ts_rank(a.search_vector, query.tsq)
           + CASE WHEN a.title ILIKE query.pattern THEN 1 ELSE 0 END
           + CASE WHEN a.text ILIKE query.pattern THEN 0.1 ELSE 0 END AS score
    FROM articles a, query
    WHERE a.relevant AND a.duplicate_of IS NULL AND a.duplicate_of_seed IS NULL
      AND (since_day IS NULL OR a.day >= since_day)
      AND (only_outlet IS NULL OR a.source = only_outlet)
      AND (a.search_vector @@ query.tsq
           OR a.title ILIKE query.pattern OR a.text ILIKE query.pattern)
), top AS (
    -- Snippets only for the rows shown: ts_headline is the costly part.
    SELECT * FROM hits ORDER BY score DESC, published_at DESC NULLS LAST, id LIMIT max_rows
), shown AS (
    SELECT top.score, top.by_words, a.*, query.tsq,
           strpos(lower(a.text), query.term) AS at
    FROM top JOIN articles a ON a.id = top.id, query
)
SELECT h.id, h.title, CAST(h.source AS text), h.published_at, h.day,
       CAST(h.canonical_url AS text),
       CAST(round(CAST(h.score AS numeric), 4) AS double precision),
       CASE
         WHEN h.by_words THEN ts_headline('english', h.text, h.tsq,
              'StartSel=[, StopSel=], MaxWords=24, MinWords=8, MaxFragments=1')
         WHEN h.at > 0 THEN
              CASE WHEN h.at > 30 THEN '…' ELSE '' END
              || substr(h.text, greatest(h.at - 30, 1), least(h.at - 1, 30))
              || '[' || substr(h.text, h.at, length(q)) || ']'
              || substr(h.text, h.at + length(q), 30)
              || CASE WHEN h.at + length(q) + 30 <= length(h.text) THEN '…' ELSE '' END
         ELSE left(h.text, 60)
       END
FROM shown h
ORDER BY h.score DESC, h.published_at DESC NULLS LAST, h.id
$$
"""

VIEWS = ("v_keyword_daily", "v_figures", "v_story_outlets", "v_feed_health", "v_runs")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # The local calendar day of publication (config `timezone`), as keyword counts use.
    op.add_column("articles", sa.Column("day", sa.Date(), nullable=True))
    op.create_index("ix_articles_day", "articles", ["day"], unique=False)
    op.execute(
        "UPDATE articles SET day = (SELECT MIN(m.day) FROM keyword_mentions m"
        " WHERE m.article_id = articles.id)"
    )
    op.execute("UPDATE articles SET day = run_date WHERE day IS NULL")
    op.execute("DROP VIEW IF EXISTS v_articles")
    op.execute(V_ARTICLES)
    op.execute(V_KEYWORD_DAILY)
    op.execute(V_FIGURES)
    op.execute(V_STORY_OUTLETS)
    op.execute(V_FEED_HEALTH)
    op.execute(_v_runs(dialect))
    if dialect == "sqlite":
        op.execute(SQLITE_FTS)
        for trigger in SQLITE_FTS_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES('rebuild')")
    elif dialect == "postgresql":
        # pg_trgm is a trusted extension: a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(PG_SEARCH_VECTOR)
        op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
        op.execute("CREATE INDEX ix_articles_title_trgm ON articles USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_articles_text_trgm ON articles USING gin (text gin_trgm_ops)")
        op.execute(PG_SEARCH_FUNCTION)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("articles_fts_update", "articles_fts_delete", "articles_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS search_articles(text, date, text, integer)")
        op.execute("DROP INDEX IF EXISTS ix_articles_text_trgm")
        op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN search_vector")
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute("DROP VIEW IF EXISTS v_articles")
    op.drop_index("ix_articles_day", table_name="articles")
    # SQLite (3.35+) and PostgreSQL both drop a column in place: no rebuild.
    op.execute("ALTER TABLE articles DROP COLUMN day")
    op.execute(V_ARTICLES_0001)
