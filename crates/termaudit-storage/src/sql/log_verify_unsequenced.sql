-- Entries the sequencer has passed (at or before its place) that are not in
-- the log: written with a forged position, or the log lost them.
WITH w AS (
    SELECT xact, audit_event_id FROM audit_log_leaves
    ORDER BY xact DESC, audit_event_id DESC LIMIT 1
)
SELECT e.id, e.project_id
FROM audit_events e
WHERE (e.xact, e.id) <= (coalesce((SELECT xact FROM w), -1), coalesce((SELECT audit_event_id FROM w), 0))
  AND ($1::uuid IS NULL OR e.project_id = $1)
  AND NOT EXISTS (SELECT 1 FROM audit_log_leaves l WHERE l.audit_event_id = e.id)
ORDER BY e.id
LIMIT 100
