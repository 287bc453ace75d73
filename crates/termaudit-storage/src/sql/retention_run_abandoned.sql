-- Runs still 'running' while the caller holds the sweeper lock died half way.
UPDATE retention_runs SET status = 'interrupted', finished_at = coalesce(finished_at, $1)
WHERE status = 'running'
