INSERT INTO legal_holds (session_id, project_id, reason, placed_at, placed_by_subject, placed_by_name)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (session_id) DO NOTHING
RETURNING session_id, reason, placed_at, placed_by_subject, placed_by_name
