SELECT id, client_event_id, kind, text, occurred_at, exit_code, duration_ms
FROM session_activity
WHERE session_id = $1 AND client_event_id = $2
