SELECT e.id, e.occurred_at, e.event_type, e.actor_subject, e.actor_name, e.session_id, e.details
FROM audit_events e
