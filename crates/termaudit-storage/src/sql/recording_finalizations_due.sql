SELECT session_id
FROM recording_finalizations
WHERE coalesce(accepts_chunks_until, ended_at) <= $1
ORDER BY coalesce(accepts_chunks_until, ended_at)
LIMIT $2
