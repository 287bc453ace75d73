-- The newest snapshot that covers only events before a time.
SELECT after_seq, at_time_us, cols, rows, state
FROM recording_snapshots
WHERE session_id = $1 AND at_time_us < $2
ORDER BY at_time_us DESC, after_seq DESC
LIMIT 1
