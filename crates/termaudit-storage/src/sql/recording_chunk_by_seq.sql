SELECT upload_sha256, events, first_time_us, last_time_us
FROM recording_chunks
WHERE session_id = $1 AND seq = $2
