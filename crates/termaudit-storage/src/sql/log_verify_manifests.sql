SELECT m.session_id, m.project_id, m.project_slug, m.sha256, m.size_bytes, m.event_count,
       m.first_event_at, m.last_event_at, m.audit_event_id, m.log_index, m.key_id, m.signature,
       r.sha256 AS recording_sha256, r.purged_at,
       l.audit_event_id AS leaf_entry
FROM recording_manifests m
LEFT JOIN recordings r ON r.session_id = m.session_id
LEFT JOIN audit_log_leaves l ON l.project_id = m.project_id AND l.leaf_index = m.log_index
WHERE $1::uuid IS NULL OR m.project_id = $1
ORDER BY m.project_id, m.log_index
