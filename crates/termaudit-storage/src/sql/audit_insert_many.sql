-- Many audit entries of one type at one time, one per element of the arrays
-- ($1 projects, $4 sessions, $5 details, in the same order).
INSERT INTO audit_events (project_id, occurred_at, event_type, session_id, details)
SELECT x.project_id, $2, $3, x.session_id, x.details
FROM unnest($1::uuid[], $4::uuid[], $5::jsonb[]) AS x (project_id, session_id, details)
