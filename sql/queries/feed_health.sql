-- Answers: is every feed working? Each feed's latest status and failure streak,
-- failing feeds first.
-- Parameters: none
SELECT feed,
       url,
       last_status,
       consecutive_failures,
       last_success_at,
       last_error,
       fetches,
       next_attempt_on
FROM v_feed_health
ORDER BY consecutive_failures DESC, feed;
