-- Answers: which alerts have not been emailed yet (they go out with the next run),
-- oldest first.
-- Parameters: none
SELECT id, created_at, rule, keyword, summary, attempts, last_error
FROM v_alerts
WHERE status = 'pending'
ORDER BY id;
