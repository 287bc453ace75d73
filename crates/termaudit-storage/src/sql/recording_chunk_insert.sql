INSERT INTO recording_chunks
    (session_id, seq, first_time_us, last_time_us, events, data_bytes, data, upload_sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
