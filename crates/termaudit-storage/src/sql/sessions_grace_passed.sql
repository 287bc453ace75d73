-- Dropped sessions whose project's grace window has passed.
SELECT s.id, s.project_id
FROM sessions s
LEFT JOIN terminal_policies p ON p.project_id = s.project_id
WHERE s.status = 'dropped'
  AND s.dropped_at + make_interval(secs => coalesce(p.reconnect_grace_seconds, $2::int4)) <= $1
ORDER BY s.dropped_at
LIMIT $3
