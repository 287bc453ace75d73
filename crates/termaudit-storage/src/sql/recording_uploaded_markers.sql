SELECT time_us, label
FROM recording_markers
WHERE session_id = $1
ORDER BY seq, ordinal
