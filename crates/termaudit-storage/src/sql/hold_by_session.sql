SELECT session_id, reason, placed_at, placed_by_subject, placed_by_name
FROM legal_holds
WHERE project_id = $1 AND session_id = $2
