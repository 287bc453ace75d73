-- Waits for a concurrent finalization of the same recording; a finished one
-- has removed the entry, and this returns nothing.
SELECT ended_at, accepts_chunks_until
FROM recording_finalizations
WHERE session_id = $1
FOR UPDATE
