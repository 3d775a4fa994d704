-- Kept articles per outlet and day, newest day first.
SELECT CAST(published_at AS DATE) AS day,
       source,
       COUNT(*) AS articles
FROM v_articles
GROUP BY CAST(published_at AS DATE), source
ORDER BY day DESC, articles DESC, source;
