-- Serialises a new hold with a purge of the same recording (see
-- retention_lock_batch.sql).
SELECT session_id FROM recordings WHERE session_id = $1 FOR UPDATE
