-- Marks many finalized recordings purged at $3, each with its own reason
-- ($1 session ids, $2 reasons, in the same order); returns those it marked.
UPDATE recordings r
SET purged_at = $3, purge_reason = x.reason
FROM unnest($1::uuid[], $2::text[]) AS x (session_id, reason)
WHERE r.session_id = x.session_id AND r.finalized_at IS NOT NULL AND r.purged_at IS NULL
RETURNING r.session_id
