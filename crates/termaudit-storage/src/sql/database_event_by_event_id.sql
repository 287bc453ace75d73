SELECT id, client_event_id, statement, database, occurred_at, rows_affected, duration_ms, error
FROM database_events
WHERE session_id = $1 AND client_event_id = $2
