-- Answers: how often each watched keyword was mentioned per day, and in how many stories.
-- Parameters: :keyword  one watched keyword (as config watch.keywords names it), or NULL for all
--             :since    first day, YYYY-MM-DD, or NULL for all
-- Days are calendar days in the configured time zone (config key `timezone`); only kept
-- articles count (relevant, not copies). share = stories / all kept stories of the day.
SELECT day,
       keyword,
       mentions,
       stories,
       share
FROM v_keyword_daily
WHERE (CAST(:keyword AS TEXT) IS NULL OR keyword = CAST(:keyword AS TEXT))
  AND (CAST(:since AS TEXT) IS NULL OR CAST(day AS TEXT) >= CAST(:since AS TEXT))
ORDER BY day, keyword;
