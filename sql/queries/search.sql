-- Answers: which kept articles mention a word or phrase (English or Chinese), best first,
-- with the outlet, the local day and a snippet marking the match with [brackets].
-- Parameters: :q         the word or phrase (searched as one phrase)
--             :since     first day, YYYY-MM-DD, or NULL for all
--             :outlet    one outlet (v_articles.source), or NULL for all
--             :max_rows  at most this many rows, or NULL for 20
-- SQLite (FTS5, trigram tokenizer): a phrase of three or more characters is matched as
-- a substring through articles_fts and ranked by bm25 (title weighted 10:1 over text);
-- a shorter one (關稅) by a plain substring scan. On PostgreSQL `monitor sql` runs
-- search.postgresql.sql instead. `monitor search` runs this same query once per term of
-- the watched keyword group the query names (台積電 → TSMC, 台積電, 台积电).
SELECT id, title, outlet, published_at, day, url, rank, snippet FROM (
  SELECT a.id, a.title, a.source AS outlet, a.published_at, a.day, a.url,
         -bm25(articles_fts, 10.0, 1.0) AS rank,
         snippet(articles_fts, 1, '[', ']', '…', 64) AS snippet
  FROM articles_fts
  JOIN v_articles AS a ON a.id = articles_fts.rowid
  WHERE :q IS NOT NULL AND articles_fts MATCH '"' || REPLACE(:q, '"', '""') || '"'
  UNION ALL
  SELECT a.id, a.title, a.source, a.published_at, a.day, a.url,
         (CASE WHEN INSTR(LOWER(a.title), LOWER(:q)) > 0 THEN 1 ELSE 0 END)
         + (CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 0 THEN 0.1 ELSE 0 END),
         CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 0 THEN
              (CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 31 THEN '…' ELSE '' END)
              || SUBSTR(a.body, MAX(INSTR(LOWER(a.body), LOWER(:q)) - 30, 1),
                        MIN(INSTR(LOWER(a.body), LOWER(:q)) - 1, 30))
              || '[' || SUBSTR(a.body, INSTR(LOWER(a.body), LOWER(:q)), LENGTH(:q)) || ']'
              || SUBSTR(a.body, INSTR(LOWER(a.body), LOWER(:q)) + LENGTH(:q), 30)
              || '…'
         ELSE SUBSTR(a.body, 1, 60) END
  FROM v_articles AS a
  WHERE LENGTH(:q) < 3
    AND (INSTR(LOWER(a.title), LOWER(:q)) > 0 OR INSTR(LOWER(a.body), LOWER(:q)) > 0)
) AS hits
WHERE (:since IS NULL OR day >= :since)
  AND (:outlet IS NULL OR outlet = :outlet)
ORDER BY rank DESC, published_at DESC, id
LIMIT CAST(COALESCE(:max_rows, 20) AS INTEGER);
