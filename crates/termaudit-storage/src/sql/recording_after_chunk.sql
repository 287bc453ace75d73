UPDATE recordings
SET header = coalesce($2, header),
    source_version = coalesce($3, source_version),
    next_seq = next_seq + 1,
    chunk_events = chunk_events + $4,
    chunk_bytes = chunk_bytes + $5,
    last_time_us = $6
WHERE session_id = $1
