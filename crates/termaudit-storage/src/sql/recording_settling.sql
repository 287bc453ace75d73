-- Whether an ended session's recording still takes the gateway's last chunks.
SELECT 1
FROM recording_finalizations
WHERE session_id = $1 AND accepts_chunks_until > $2
