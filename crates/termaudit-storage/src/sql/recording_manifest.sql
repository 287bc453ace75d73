SELECT session_id, project_id, project_slug, sha256, size_bytes, event_count, first_event_at,
       last_event_at, audit_event_id, log_index, key_id, signature
FROM recording_manifests
WHERE project_id = $1 AND session_id = $2
