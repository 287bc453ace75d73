-- Recordings stored in $1 whose bytes the compactor should move out of
-- PostgreSQL now: finalized ones with anything left here, and live ones
-- with at least $2 bytes of chunk bodies waiting; finalized first, at
-- most $3. Driven by the partial indexes of bodies still here, which also
-- hold the bodies of recordings kept in PostgreSQL (store 'postgres'): a
-- deployment that switched to an object store with many such recordings
-- pays for them on every pass until `termaudit recordings move` moves them.
WITH here AS (
    SELECT c.session_id, sum(octet_length(c.data))::int8 AS bytes
    FROM recording_chunks AS c
    WHERE c.data IS NOT NULL
    GROUP BY c.session_id
    UNION ALL
    SELECT s.session_id, 0::int8
    FROM recording_snapshots AS s
    WHERE s.state IS NOT NULL
    GROUP BY s.session_id
)
SELECT r.session_id, r.finalized_at IS NOT NULL AS finalized
FROM (SELECT session_id, sum(bytes)::int8 AS bytes FROM here GROUP BY session_id) AS h
JOIN recordings AS r ON r.session_id = h.session_id
WHERE r.store = $1 AND r.purged_at IS NULL
  AND (r.finalized_at IS NOT NULL OR h.bytes >= $2)
ORDER BY r.finalized_at IS NULL, r.finalized_at, r.session_id
LIMIT $3
