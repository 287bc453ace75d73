-- Whether project $1 has entries written by transactions before $2 (an
-- xid8 as a number) that the sequencer has not appended yet.
WITH w AS (
    SELECT xact, audit_event_id FROM audit_log_leaves
    ORDER BY xact DESC, audit_event_id DESC LIMIT 1
)
SELECT EXISTS (
    SELECT 1 FROM audit_events e
    WHERE (e.xact, e.id) > (coalesce((SELECT xact FROM w), -1),
                            coalesce((SELECT audit_event_id FROM w), 0))
      AND e.xact < $2 AND e.project_id = $1
) AS pending
