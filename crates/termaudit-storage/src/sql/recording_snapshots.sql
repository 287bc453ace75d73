SELECT after_seq, at_time_us, cols, rows, state
FROM recording_snapshots
WHERE session_id = $1
ORDER BY after_seq
