-- Audit entries $2 of project $1 that are in the log, as stored, with
-- their leaf indexes (the columns of log_entry_with_leaf.sql).
SELECT e.id, e.project_id, e.occurred_at, e.event_type, e.actor_subject, e.actor_name,
       e.session_id, e.details::text AS details, l.leaf_index
FROM audit_log_leaves l
JOIN audit_events e ON e.id = l.audit_event_id
WHERE l.project_id = $1 AND l.audit_event_id = ANY($2)
