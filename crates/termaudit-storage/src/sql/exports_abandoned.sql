-- Exports under way that this process does not run ($1), with their start.
SELECT r.started_id, s.details
FROM exports_running r
JOIN audit_events s ON s.id = r.started_id
WHERE NOT (r.started_id = ANY ($1))
ORDER BY r.started_id
