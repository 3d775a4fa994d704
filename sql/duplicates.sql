-- Every article stored as a copy: of a seed document or of an earlier article,
-- with the similarity that decided it.
SELECT a.id,
       a.canonical_url AS url,
       a.title,
       a.source,
       a.duplicate_of,
       s.name          AS duplicate_of_seed,
       a.similarity,
       a.decision
FROM articles AS a
LEFT JOIN seed_documents AS s ON s.id = a.duplicate_of_seed
WHERE a.duplicate_of IS NOT NULL OR a.duplicate_of_seed IS NOT NULL
ORDER BY a.id;
