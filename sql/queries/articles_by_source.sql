-- Answers: how many kept articles each outlet published per day, newest day first.
-- Parameters: :since  first day, YYYY-MM-DD, or NULL for all
-- Days are calendar days in the configured time zone (config key `timezone`).
SELECT day,
       source,
       COUNT(*) AS articles
FROM v_articles
WHERE CAST(:since AS TEXT) IS NULL OR CAST(day AS TEXT) >= CAST(:since AS TEXT)
GROUP BY day, source
ORDER BY day DESC, articles DESC, source;
