"""search on PostgreSQL uses its GIN indexes: no pending lists, and no lowering of
every article's text for a short Chinese term

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:00:00

0010's three GIN indexes (``search_vector``, the title and text trigrams) were created
with ``fastupdate`` on: new rows wait in a pending list that every index scan reads in
full until a vacuum (or autovacuum's analyze, not a manual ANALYZE) merges it. After a
load of articles the planner prices each index at the cost of reading that list (about
2,300 against 45 once merged, on 10,000 articles) and ``search_articles`` read the whole
table instead, running ``text ILIKE '%term%'``, which lowercases each text (10-25 µs an
article), on every row. Now the indexes take new rows directly (an insert costs a little
more; searches read no list) and the upgrade merges the lists there are.

The function is planned once per call without the term's value (a SECURITY DEFINER SQL
function is never inlined), so its one plan must suit every term. It now has two
branches, of which only one runs:

* three or more characters: a BitmapOr of the three GIN indexes;
* fewer (關稅, "EU"): the trigram indexes have no trigram to look up (a full index scan,
  then a recheck of every row), so the table is read once instead.

A term with no letter case (Han, kana, Hangul, CJK punctuation, digits, spaces) is
tested with ``strpos`` rather than ``ILIKE``: no character lowercases into those ranges,
so it is the same test, without lowering the text. The term's tsquery and pattern are
scalar subqueries (computed once, not once a row). Same hits, ranks, order and snippets
as 0010's function; same signature, so ``CREATE OR REPLACE`` keeps its owner and the
analysts' EXECUTE grant. SQLite: nothing (FTS5 is unchanged).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PG_SEARCH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION search_articles(
    q text, since_day date DEFAULT NULL, only_outlet text DEFAULT NULL,
    max_rows integer DEFAULT 20
) RETURNS TABLE (
    id integer, title text, outlet text, published_at timestamp, day date, url text,
    rank double precision, snippet text
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
WITH query AS NOT MATERIALIZED (
    -- Not materialized, so that the conditions below are index conditions; each value a
    -- scalar subquery (an InitPlan), so that it is computed once, not once a row.
    SELECT (SELECT websearch_to_tsquery('english', q)) AS tsq, (SELECT lower(q)) AS term,
           (SELECT '%' || replace(replace(replace(q, '\', '\\'), '%', '\%'), '_', '\_')
                   || '%') AS pattern,
           (SELECT length(q) < 3) AS short,
           -- No letter case: Han, kana, Hangul, CJK punctuation, digits, spaces.
           (SELECT q ~ '^[[:space:]0-9\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3'
                       '\uf900-\ufaff\uff01-\uff20]*$') AS caseless
), matched AS (
    -- Three or more characters: the GIN indexes (tsvector, title and text trigrams).
    SELECT a.id, a.published_at, a.title, a.text, a.search_vector, a.relevant,
           a.duplicate_of, a.duplicate_of_seed, a.day, a.source
    FROM articles a, query
    WHERE NOT query.short
      AND (a.search_vector @@ query.tsq
           OR a.title ILIKE query.pattern OR a.text ILIKE query.pattern)
    UNION ALL
    -- Fewer: no trigram to look up, so one pass over the table.
    SELECT a.id, a.published_at, a.title, a.text, a.search_vector, a.relevant,
           a.duplicate_of, a.duplicate_of_seed, a.day, a.source
    FROM articles a, query
    WHERE query.short
      AND (a.search_vector @@ query.tsq
           OR CASE WHEN query.caseless THEN strpos(a.title, q) > 0
                   ELSE a.title ILIKE query.pattern END
           OR CASE WHEN query.caseless THEN strpos(a.text, q) > 0
                   ELSE a.text ILIKE query.pattern END)
), hits AS (
    SELECT m.id, m.published_at, m.search_vector @@ query.tsq AS by_words,
           ts_rank(m.search_vector, query.tsq)
           + CASE WHEN CASE WHEN query.caseless THEN strpos(m.title, q) > 0
                            ELSE m.title ILIKE query.pattern END THEN 1 ELSE 0 END
           + CASE WHEN CASE WHEN query.caseless THEN strpos(m.text, q) > 0
                            ELSE m.text ILIKE query.pattern END THEN 0.1 ELSE 0 END AS score
    FROM matched m, query
    WHERE m.relevant AND m.duplicate_of IS NULL AND m.duplicate_of_seed IS NULL
      AND (since_day IS NULL OR m.day >= since_day)
      AND (only_outlet IS NULL OR m.source = only_outlet)
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

# 0010's function, put back by the downgrade.
PG_SEARCH_FUNCTION_0010 = r"""
CREATE OR REPLACE FUNCTION search_articles(
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


GIN_INDEXES = ("ix_articles_search_vector", "ix_articles_title_trgm", "ix_articles_text_trgm")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_SEARCH_FUNCTION)
    for name in GIN_INDEXES:
        # New rows go straight into the index, not into a pending list that every search
        # reads row by row until a vacuum merges it; merge the list there is now.
        op.execute(f"ALTER INDEX {name} SET (fastupdate = off)")
        op.execute(f"SELECT gin_clean_pending_list('{name}'::regclass)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in GIN_INDEXES:
        op.execute(f"ALTER INDEX {name} RESET (fastupdate)")
    op.execute(PG_SEARCH_FUNCTION_0010)
