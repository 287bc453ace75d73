INSERT INTO recordings (session_id, started_at)
VALUES ($1, $2)
ON CONFLICT (session_id) DO NOTHING
