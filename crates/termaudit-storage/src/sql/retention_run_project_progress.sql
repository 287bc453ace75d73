INSERT INTO retention_run_projects (run_id, project_id, purged, bytes_freed)
VALUES ($1, $2, 1, $3)
ON CONFLICT (run_id, project_id) DO UPDATE
SET purged = retention_run_projects.purged + 1, bytes_freed = retention_run_projects.bytes_freed + excluded.bytes_freed
