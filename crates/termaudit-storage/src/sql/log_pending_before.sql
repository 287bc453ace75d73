-- Whether project $1 has entries written by transactions before $2 (an
-- xid8 as a number) that the sequencer, at ($3 xact, $4 id, from
-- log_watermark.sql), has not appended yet. Scanned as log_pending.sql is:
-- on the sequence index, from the sequencer's place up to $2, stopping at
-- the first of the project's.
WITH pending AS MATERIALIZED (
    SELECT e.project_id FROM audit_events e
    WHERE e.xact >= $3 AND e.xact < $2 AND (e.xact, e.id) > ($3, $4)
)
SELECT EXISTS (SELECT 1 FROM pending WHERE project_id = $1) AS pending
