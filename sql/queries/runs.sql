-- Answers: what did each pipeline run do? Newest run first, with its counts.
-- Parameters: none
SELECT run_date,
       feeds_ok,
       feeds_failed,
       new_articles,
       duplicates,
       off_topic,
       alerts_raised,
       alerts_sent,
       delivery_status
FROM v_runs
ORDER BY run_date DESC, id DESC;
