INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, project_id, name, kind, environment, environment_class, created_at
