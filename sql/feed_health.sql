-- Each feed's latest status and its failure streak, failing feeds first.
SELECT f.name,
       f.url,
       f.last_status,
       f.consecutive_failures,
       f.last_success_at,
       f.last_error,
       (SELECT COUNT(*) FROM fetches AS x WHERE x.feed_id = f.id) AS fetches
FROM feeds AS f
ORDER BY f.consecutive_failures DESC, f.name;
