-- Holds off a concurrent close (and its finalization) until the chunk commits.
SELECT recorded, status, opened_at
FROM sessions
WHERE id = $1 AND project_id = $2
FOR SHARE
