INSERT INTO recording_finalizations (session_id, ended_at)
VALUES ($1, $2)
ON CONFLICT (session_id) DO NOTHING
