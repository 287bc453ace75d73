SELECT id, slug, name, created_at
FROM projects
WHERE slug = ANY ($1)
ORDER BY slug
