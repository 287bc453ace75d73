-- The sweep's dry run in project $1 at $2 for retention values tried
-- (production $3 days, the others $4) and the policy's own ($5, $6): per
-- environment class, the recordings purged with the values tried, their
-- files' size and stored bytes, and the count with the policy's values.
-- The rule is retention_expired.sql's (finalized, not purged, session
-- ended, no legal hold; ended_at + whole days <= as of); chunks are summed
-- only for recordings one of the two retentions purges.
WITH kept AS (
    SELECT r.session_id, s.environment_class, s.ended_at, coalesce(r.size_bytes, 0) AS size_bytes,
           CASE s.environment_class WHEN 'production' THEN $3::int4 ELSE $4::int4 END AS tried_days,
           CASE s.environment_class WHEN 'production' THEN $5::int4 ELSE $6::int4 END AS current_days
    FROM sessions s
    JOIN recordings r ON r.session_id = s.id AND r.purged_at IS NULL AND r.finalized_at IS NOT NULL
    WHERE s.project_id = $1 AND s.recorded AND s.ended_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = s.id)
), due AS (
    SELECT k.session_id, k.environment_class, k.size_bytes,
           k.ended_at + make_interval(days => k.tried_days) <= $2 AS by_tried,
           k.ended_at + make_interval(days => k.current_days) <= $2 AS by_current
    FROM kept k
    WHERE k.ended_at + make_interval(days => least(k.tried_days, k.current_days)) <= $2
)
SELECT d.environment_class,
       count(*) FILTER (WHERE d.by_tried) AS recordings,
       coalesce(sum(d.size_bytes) FILTER (WHERE d.by_tried), 0)::int8 AS size_bytes,
       coalesce(sum((SELECT coalesce(sum(coalesce(octet_length(c.data), c.object_length)), 0) FROM recording_chunks c
                     WHERE c.session_id = d.session_id)) FILTER (WHERE d.by_tried), 0)::int8
           AS stored_bytes,
       count(*) FILTER (WHERE d.by_current) AS recordings_with_current
FROM due d
GROUP BY d.environment_class
