-- Kept articles per outlet and day (UTC), newest day first.
SELECT SUBSTR(CAST(published_at AS TEXT), 1, 10) AS day,
       source,
       COUNT(*) AS articles
FROM v_articles
GROUP BY SUBSTR(CAST(published_at AS TEXT), 1, 10), source
ORDER BY day DESC, articles DESC, source;
