-- Finalized, unpurged recordings of sessions whose environment class's
-- retention (the project's policy, or the defaults $2/$3) has passed at $1,
-- without a legal hold; oldest first, after ($6, $7) when given (the
-- sweep's keyset: each batch starts where the last one ended instead of
-- walking past everything purged so far). Mirrors
-- termaudit_domain::recording_expires_at: ended_at + whole days.
SELECT r.session_id, s.project_id, s.environment_class, s.ended_at, s.target_name,
       coalesce(r.size_bytes, 0) AS size_bytes,
       (SELECT coalesce(sum(coalesce(octet_length(c.data), c.object_length)), 0)::int8 FROM recording_chunks c WHERE c.session_id = r.session_id)
           AS stored_bytes,
       CASE s.environment_class
           WHEN 'production' THEN coalesce(p.retention_days_production, $2)
           ELSE coalesce(p.retention_days_non_production, $3)
       END AS retention_days
FROM sessions s
JOIN recordings r ON r.session_id = s.id AND r.purged_at IS NULL AND r.finalized_at IS NOT NULL
LEFT JOIN terminal_policies p ON p.project_id = s.project_id
WHERE s.recorded AND s.ended_at IS NOT NULL
  AND ($5::uuid IS NULL OR s.project_id = $5)
  AND ($6::timestamptz IS NULL OR (s.ended_at, s.id) > ($6, $7::uuid))
  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = s.id)
  AND s.ended_at + make_interval(days => CASE s.environment_class
          WHEN 'production' THEN coalesce(p.retention_days_production, $2)
          ELSE coalesce(p.retention_days_non_production, $3)
      END) <= $1
ORDER BY s.ended_at, s.id
LIMIT $4
