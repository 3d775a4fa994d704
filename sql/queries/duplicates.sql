-- Answers: which copies the monitor dropped, and of what: republished seed documents,
-- near-copies and same-title rewrites of stored articles, and feed items that were
-- exact copies (one row per copy, as the run summary counts them).
-- Parameters: none
-- original_title is the story's title; seed_name is set when the original is a seed
-- document (a story the analysts had already read).
SELECT o.story_id,
       o.outlet,
       o.copy_kind,
       o.rule,
       o.url,
       o.published_at,
       s.seed_name,
       CASE WHEN LENGTH(s.title) > 100 THEN SUBSTR(s.title, 1, 99) || '…'
            ELSE s.title END AS original_title
FROM v_story_outlets AS o
JOIN v_stories AS s ON s.story_id = o.story_id
WHERE o.rule NOT IN ('kept', 'separated')
ORDER BY o.published_at, o.story_id, o.url;
