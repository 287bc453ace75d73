DELETE FROM legal_holds
WHERE project_id = $1 AND session_id = $2
RETURNING session_id, reason, placed_at, placed_by_subject, placed_by_name
