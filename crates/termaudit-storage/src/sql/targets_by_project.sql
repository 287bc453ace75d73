SELECT id, project_id, name, kind, environment, environment_class, created_at
FROM targets
WHERE project_id = $1
ORDER BY name
