SELECT id, slug, name, created_at
FROM projects
WHERE slug = $1
