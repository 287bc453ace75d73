-- The leaves $2 to $3 of project $1's log, in order, with their audit
-- entries as stored now (absent when the entry is gone).
SELECT l.leaf_index, l.audit_event_id, l.leaf_hash, l.subtrees, l.fingerprints, e.id,
       e.project_id, e.occurred_at, e.event_type, e.actor_subject, e.actor_name, e.session_id,
       e.details::text AS details
FROM audit_log_leaves l
LEFT JOIN audit_events e ON e.id = l.audit_event_id
WHERE l.project_id = $1 AND l.leaf_index BETWEEN $2 AND $3
ORDER BY l.leaf_index
