SELECT 1
FROM audit_events
WHERE session_id = $1
  AND event_type = 'recording.viewed'
  AND actor_subject = $2
  AND occurred_at > clock_timestamp() - interval '1 hour'
LIMIT 1
