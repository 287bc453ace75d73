INSERT INTO terminal_policies (project_id, retention_days_production, retention_days_non_production,
                               record_non_production, require_reason_non_production,
                               reconnect_grace_seconds, updated_at, updated_by, watch_non_production)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (project_id) DO UPDATE
SET retention_days_production = excluded.retention_days_production,
    retention_days_non_production = excluded.retention_days_non_production,
    record_non_production = excluded.record_non_production,
    require_reason_non_production = excluded.require_reason_non_production,
    reconnect_grace_seconds = excluded.reconnect_grace_seconds,
    watch_non_production = excluded.watch_non_production,
    updated_at = excluded.updated_at,
    updated_by = excluded.updated_by
