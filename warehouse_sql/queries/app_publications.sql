-- The latest publications, newest first.
SELECT id, published_at, run_started_at, incremental, row_counts
FROM org360.publication
ORDER BY id DESC
LIMIT :limit
