-- Finalized, unpurged recordings whose store is not $1, by id after $2
-- (a move's keyset), at most $3.
SELECT session_id
FROM recordings
WHERE finalized_at IS NOT NULL AND purged_at IS NULL AND store <> $1
  AND ($2::uuid IS NULL OR session_id > $2)
ORDER BY session_id
LIMIT $3
