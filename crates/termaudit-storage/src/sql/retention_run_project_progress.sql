-- Adds $3 purged recordings and $4 bytes to project $2's count in run $1.
INSERT INTO retention_run_projects (run_id, project_id, purged, bytes_freed)
VALUES ($1, $2, $3, $4)
ON CONFLICT (run_id, project_id) DO UPDATE
SET purged = retention_run_projects.purged + excluded.purged,
    bytes_freed = retention_run_projects.bytes_freed + excluded.bytes_freed
