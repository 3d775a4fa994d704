-- Answers: which kept articles mention a word or phrase (English or Chinese), best first,
-- with the outlet, the local day and a snippet marking the match with [brackets].
-- Parameters: :q         the word or phrase (searched as one phrase)
--             :since     first day, YYYY-MM-DD, or NULL for all
--             :outlet    one outlet (v_articles.source), or NULL for all
--             :max_rows  at most this many rows, or NULL for 20
-- PostgreSQL: calls search_articles() (migrations 0010, 0012): English words through a
-- weighted tsvector (stemmed: "tariffs" finds "tariff"), any other string (Chinese)
-- as a substring through pg_trgm indexes (one read of the table for a string of one or
-- two characters, such as 關稅). Rank: ts_rank + 1 for the string in the title + 0.1
-- for it in the text. In psql: SELECT * FROM search_articles('台積電');
SELECT id, title, outlet, published_at, day, url, rank, snippet
FROM search_articles(CAST(:q AS text), CAST(:since AS date), CAST(:outlet AS text),
                     CAST(COALESCE(CAST(:max_rows AS integer), 20) AS integer));
