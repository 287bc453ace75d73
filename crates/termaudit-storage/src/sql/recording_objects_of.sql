SELECT id, store, key, size_bytes FROM recording_objects WHERE session_id = $1 ORDER BY id
