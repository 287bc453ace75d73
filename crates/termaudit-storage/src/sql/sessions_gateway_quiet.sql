SELECT id, project_id
FROM sessions
WHERE status = 'active' AND last_seen_at < $1
ORDER BY last_seen_at
LIMIT $2
