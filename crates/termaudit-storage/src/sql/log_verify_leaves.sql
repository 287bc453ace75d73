-- Every leaf of every log (or of project $1), in order, with its audit
-- entry as stored now (absent when the entry is gone).
SELECT l.project_id AS log_project_id, l.leaf_index, l.audit_event_id, l.leaf_hash, l.subtrees,
       l.fingerprints, e.id, e.project_id, e.occurred_at, e.event_type, e.actor_subject,
       e.actor_name, e.session_id, e.details::text AS details
FROM audit_log_leaves l
LEFT JOIN audit_events e ON e.id = l.audit_event_id
WHERE $1::uuid IS NULL OR l.project_id = $1
ORDER BY l.project_id, l.leaf_index
