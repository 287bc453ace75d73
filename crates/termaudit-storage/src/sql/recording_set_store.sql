-- Recording $1 goes to store $2 (finalized and not purged only); returns
-- whether it did.
UPDATE recordings SET store = $2
WHERE session_id = $1 AND finalized_at IS NOT NULL AND purged_at IS NULL
RETURNING session_id
