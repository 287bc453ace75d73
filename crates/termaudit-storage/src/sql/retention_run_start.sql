INSERT INTO retention_runs (started_at, as_of, status) VALUES ($1, $2, 'running') RETURNING id
