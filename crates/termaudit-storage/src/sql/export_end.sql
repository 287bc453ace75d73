-- An export ends ($1, its start's id): its row among the exports under way
-- goes, and its `history.exported` entry ($2, details) is appended, by the
-- exporter of the start. Nothing when another process ended it first.
WITH ended AS (
    DELETE FROM exports_running WHERE started_id = $1 RETURNING started_id
)
INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject, actor_name, details)
SELECT s.project_id, $3, 'history.exported', s.actor_subject, s.actor_name, $2
FROM ended JOIN audit_events s ON s.id = ended.started_id
RETURNING id
