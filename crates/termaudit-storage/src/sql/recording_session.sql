SELECT id, project_id, target_name, recorded, environment_class, status, opened_at, ended_at
FROM sessions
WHERE id = $1 AND project_id = $2
