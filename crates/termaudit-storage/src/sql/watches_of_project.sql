-- The watches of project $1's recordings under way: those whose lease holds.
SELECT id, project_id, session_id, watcher_subject, watcher_name, started_at
FROM recording_watches
WHERE project_id = $1 AND lease_until >= now()
ORDER BY started_at, id
