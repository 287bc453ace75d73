DELETE FROM recording_finalizations
WHERE session_id = $1
