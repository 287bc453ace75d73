-- An export starts: its `history.export_started` entry, its row among the
-- exports under way, and its advisory lock on this connection ($5, the
-- entry's id), all in one statement, so no one sees the start without the
-- lock.
WITH started AS (
    INSERT INTO audit_events (project_id, event_type, actor_subject, actor_name, details)
    VALUES ($1, 'history.export_started', $2, $3, $4)
    RETURNING id, project_id
), running AS (
    INSERT INTO exports_running (started_id, project_id)
    SELECT id, project_id FROM started
)
SELECT id, pg_advisory_lock($5, (id % 2147483647)::int4)::text AS locked
FROM started
