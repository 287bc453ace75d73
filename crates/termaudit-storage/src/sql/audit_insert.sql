INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject, actor_name, session_id, details)
VALUES ($1, coalesce($2, clock_timestamp()), $3, $4, $5, $6, $7)
RETURNING id
