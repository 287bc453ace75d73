SELECT retention_days_production, retention_days_non_production, record_non_production,
       require_reason_non_production, reconnect_grace_seconds, updated_at, updated_by,
       watch_non_production
FROM terminal_policies
WHERE project_id = $1
