SELECT id, client_event_id, kind, text, occurred_at, exit_code, duration_ms
FROM session_activity
WHERE session_id = $1
  AND ($2::timestamptz IS NULL OR (occurred_at, id) > ($2, $3))
ORDER BY occurred_at, id
LIMIT $4
