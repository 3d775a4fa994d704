-- Answers (for operators): what happened to each alert email, newest first, with the
-- server's answer per recipient (refused ones first). status: sending | sent | partial |
-- unknown | refused (see the README).
-- Parameters: none
-- Reads the pipeline's own tables alert_emails and alert_email_recipients: the
-- read-only analyst role (monitor grant-analyst) cannot run it.
SELECT e.id, e.message_id, e.kind, e.status, e.attempts, e.last_attempt_at, e.via,
       r.address, r.status AS recipient_status, r.code, r.reply
FROM alert_emails e
LEFT JOIN alert_email_recipients r ON r.email_id = e.id
ORDER BY e.id DESC, r.status DESC, r.address;
