-- Answers: what figure did each outlet give for a tracked item, and when? Every reading
-- with the sentence it came from, oldest first.
-- Parameters: :item  the tracked item (today the watched keyword, e.g. tariff), or NULL for all
SELECT day,
       item,
       value,
       unit,
       outlet,
       sentence,
       article_url
FROM v_figures
WHERE CAST(:item AS TEXT) IS NULL OR item = CAST(:item AS TEXT)
ORDER BY day, observed_at, id;
