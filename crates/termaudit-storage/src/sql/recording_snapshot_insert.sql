INSERT INTO recording_snapshots (session_id, after_seq, at_time_us, cols, rows, state)
VALUES ($1, $2, $3, $4, $5, $6)
