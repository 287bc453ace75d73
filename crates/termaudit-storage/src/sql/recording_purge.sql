UPDATE recordings
SET purged_at = $2, purge_reason = $3, header = header
WHERE session_id = $1 AND finalized_at IS NOT NULL AND purged_at IS NULL
