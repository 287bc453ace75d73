-- Up to $1 watches whose lease has expired (their replica died), ended:
-- skipping those another replica is ending at the same time.
DELETE FROM recording_watches
WHERE id IN (
    SELECT id FROM recording_watches
    WHERE lease_until < now()
    ORDER BY lease_until
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, project_id, session_id, watcher_subject, watcher_name, started_at
