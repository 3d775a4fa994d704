-- Answers: which outlets carried a story, in what order, and how each copy was matched.
-- Parameters: :story_id  one story (v_stories.story_id), or NULL for every story
SELECT story_id,
       outlet,
       copy_kind,
       rule,
       is_canonical,
       published_at,
       url
FROM v_story_outlets
WHERE CAST(:story_id AS INTEGER) IS NULL OR story_id = CAST(:story_id AS INTEGER)
ORDER BY story_id, published_at, is_canonical DESC, url, copy_kind;
