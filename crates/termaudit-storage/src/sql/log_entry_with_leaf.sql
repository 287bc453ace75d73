-- An audit entry of project $1, as stored, with its leaf when sequenced.
SELECT e.id, e.project_id, e.occurred_at, e.event_type, e.actor_subject, e.actor_name,
       e.session_id, e.details::text AS details, l.leaf_index
FROM audit_events e
LEFT JOIN audit_log_leaves l ON l.audit_event_id = e.id
WHERE e.id = $2 AND e.project_id = $1
