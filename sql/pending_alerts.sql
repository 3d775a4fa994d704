-- Alerts not yet emailed (they go out with the next run), oldest first.
SELECT id, created_at, rule, keyword, summary, attempts, last_error
FROM v_alerts
WHERE status = 'pending'
ORDER BY id;
