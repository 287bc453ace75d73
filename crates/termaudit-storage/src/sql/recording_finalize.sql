UPDATE recordings
SET finalized_at = $2,
    size_bytes = $3,
    event_count = $4,
    duration_us = $5,
    sha256 = $6,
    trailer_offset = $7
WHERE session_id = $1
