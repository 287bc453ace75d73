SELECT project_id, recorded, opened_at
FROM sessions
WHERE id = $1
