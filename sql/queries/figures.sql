-- Answers: what figure did each outlet give for a tracked item, and when? Every reading
-- in force (status current) with the sentence it came from, oldest first.
-- Parameters: :item  a tracked item (config watch.tracked id, e.g. us_tariff_taiwan), or NULL for all
-- v_figures also keeps threats and replaced values (status threat, old); drop the
-- status filter to see them.
SELECT day,
       item,
       value,
       unit,
       outlet,
       sentence,
       article_url
FROM v_figures
WHERE status = 'current'
  AND (CAST(:item AS TEXT) IS NULL OR item = CAST(:item AS TEXT))
ORDER BY day, published_at, id;
