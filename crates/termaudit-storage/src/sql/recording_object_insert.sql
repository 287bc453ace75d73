INSERT INTO recording_objects (session_id, store, key, size_bytes)
VALUES ($1, $2, $3, $4)
RETURNING id
