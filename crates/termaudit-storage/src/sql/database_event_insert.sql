INSERT INTO database_events (session_id, client_event_id, statement, database, occurred_at,
                             rows_affected, duration_ms, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (session_id, client_event_id) DO NOTHING
RETURNING id
