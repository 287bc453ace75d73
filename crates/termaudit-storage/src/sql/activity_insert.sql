INSERT INTO session_activity (session_id, client_event_id, kind, text, occurred_at, exit_code, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (session_id, client_event_id) DO NOTHING
RETURNING id
