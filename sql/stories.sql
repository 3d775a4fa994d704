-- Story clusters with the most outlets first: one row per story however many copies
-- (syndicated, rewritten, republished) reached the monitor. seed_name is set for a
-- story the seed corpus already held (analysts have read it).
SELECT story_id,
       title,
       first_outlet,
       first_published_at,
       copies,
       outlets,
       canonical_url,
       seed_name
FROM v_stories
WHERE relevant
ORDER BY copies DESC, first_published_at, story_id;
