-- Who watches session $1's recording now: the watches whose lease holds.
SELECT watcher_subject, watcher_name, started_at
FROM recording_watches
WHERE session_id = $1 AND lease_until >= now()
ORDER BY started_at, id
