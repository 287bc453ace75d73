INSERT INTO recording_manifests
    (session_id, project_id, project_slug, sha256, size_bytes, event_count, first_event_at,
     last_event_at, audit_event_id, log_index, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (session_id) DO NOTHING
