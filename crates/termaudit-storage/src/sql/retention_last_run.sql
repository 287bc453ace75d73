SELECT r.id, r.started_at, r.finished_at, r.as_of, r.status, r.purged, r.bytes_freed, r.errors,
       coalesce(p.purged, 0) AS project_purged, coalesce(p.bytes_freed, 0)::int8 AS project_bytes_freed
FROM retention_runs r
LEFT JOIN retention_run_projects p ON p.run_id = r.id AND p.project_id = $1
ORDER BY r.started_at DESC, r.id DESC
LIMIT 1
