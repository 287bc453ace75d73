-- Entries not in the log yet (of one project, or all when $1 is NULL), and
-- when the sequencer last had nothing left to append.
WITH w AS (
    SELECT xact, audit_event_id FROM audit_log_leaves
    ORDER BY xact DESC, audit_event_id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM audit_events e
        WHERE (e.xact, e.id) > (coalesce((SELECT xact FROM w), -1),
                                coalesce((SELECT audit_event_id FROM w), 0))
          AND ($1::uuid IS NULL OR e.project_id = $1)) AS pending,
       (SELECT caught_up_at FROM audit_log_sequencer) AS caught_up_at,
       (SELECT ran_at FROM audit_log_sequencer) AS ran_at
