-- Mentions of each watched keyword per day, in kept (relevant, non-duplicate) articles.
-- Days are calendar days in the configured time zone (config key `timezone`).
SELECT m.day,
       m.keyword,
       SUM(m.count)             AS mentions,
       COUNT(DISTINCT m.article_id) AS articles
FROM keyword_mentions AS m
JOIN v_articles AS a ON a.id = m.article_id
GROUP BY m.day, m.keyword
ORDER BY m.day, m.keyword;
