-- How many entries the sequencer has not appended yet: after its place
-- ($1 xact, $2 id, from log_watermark.sql), of project $3 or of all when
-- $3 is NULL. The range is scanned on the sequence index alone (a
-- materialized CTE: the planner's row-comparison estimates would otherwise
-- pick a scan of the whole table or of the project's entries), so the
-- cost is that of the pending entries, not of the log.
WITH pending AS MATERIALIZED (
    SELECT e.project_id FROM audit_events e
    WHERE e.xact >= $1 AND (e.xact, e.id) > ($1, $2)
)
SELECT count(*) AS pending FROM pending WHERE $3::uuid IS NULL OR project_id = $3
