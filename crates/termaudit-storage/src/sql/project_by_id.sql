SELECT id, slug, name, created_at
FROM projects
WHERE id = $1
