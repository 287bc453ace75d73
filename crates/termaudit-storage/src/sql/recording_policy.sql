SELECT retention_days_production, retention_days_non_production, record_non_production,
       require_reason_non_production, reconnect_grace_seconds
FROM terminal_policies
WHERE project_id = $1
