UPDATE recordings
SET header = coalesce($2, header),
    source_version = coalesce($3, source_version),
    next_seq = next_seq + 1,
    chunk_events = chunk_events + $4,
    chunk_bytes = chunk_bytes + $5,
    last_time_us = $6,
    live_cols = $7,
    live_rows = $8,
    live_state = $9,
    output_since_snapshot = $10,
    last_snapshot_us = $11
WHERE session_id = $1
