-- Waits for a concurrent finalization of the same recording; a finished one
-- has removed the entry, and this returns nothing.
SELECT ended_at
FROM recording_finalizations
WHERE session_id = $1
FOR UPDATE
