-- The next audit entries to append to the log: after the sequencer's place
-- ($1 xact, $2 id), in (xact, id) order, and only those written by
-- transactions older than every transaction still running (the snapshot's
-- xmin), so none can commit later with a smaller (xact, id).
SELECT e.id, e.project_id, e.occurred_at, e.event_type, e.actor_subject, e.actor_name,
       e.session_id, e.details::text AS details, e.xact
FROM audit_events e
WHERE (e.xact, e.id) > ($1, $2)
  AND e.xact < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY e.xact, e.id
LIMIT $3
