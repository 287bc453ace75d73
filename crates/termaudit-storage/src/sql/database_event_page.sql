SELECT id, client_event_id, statement, database, occurred_at, rows_affected, duration_ms, error
FROM database_events
WHERE session_id = $1
  AND ($2::timestamptz IS NULL OR (occurred_at, id) > ($2, $3))
ORDER BY occurred_at, id
LIMIT $4
