SELECT session_id
FROM recording_finalizations
ORDER BY queued_at
LIMIT $1
