-- Holds recording $1 against a purge until the transaction ends; nothing
-- when it is purged.
SELECT 1 FROM recordings WHERE session_id = $1 AND purged_at IS NULL FOR SHARE
