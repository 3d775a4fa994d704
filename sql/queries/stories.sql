-- Answers: which stories reached the most outlets? One row per story however many
-- copies (syndicated, rewritten, republished) reached the monitor, most copies first.
-- Parameters: none
-- seed_name is set for a story the seed corpus already held (analysts have read it);
-- a seed's title is its first paragraph, cut here to 100 characters.
SELECT story_id,
       CASE WHEN LENGTH(title) > 100 THEN SUBSTR(title, 1, 99) || '…' ELSE title END AS title,
       first_outlet,
       first_published_at,
       copies,
       outlets,
       canonical_url,
       seed_name
FROM v_stories
WHERE relevant
ORDER BY copies DESC, first_published_at, story_id;
