INSERT INTO projects (id, slug, name)
VALUES ($1, $2, $3)
RETURNING id, slug, name, created_at
