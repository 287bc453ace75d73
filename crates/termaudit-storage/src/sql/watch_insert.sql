-- A watch begins, its lease running for $6 seconds.
INSERT INTO recording_watches
    (id, project_id, session_id, watcher_subject, watcher_name, lease_until)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
