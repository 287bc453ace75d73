INSERT INTO recording_finalizations (session_id, ended_at, accepts_chunks_until)
VALUES ($1, $2, $3)
ON CONFLICT (session_id) DO NOTHING
