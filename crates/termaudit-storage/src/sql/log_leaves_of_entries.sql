SELECT audit_event_id, leaf_index
FROM audit_log_leaves
WHERE project_id = $1 AND audit_event_id = ANY($2)
