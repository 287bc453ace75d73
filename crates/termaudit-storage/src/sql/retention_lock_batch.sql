-- Claims recordings for purging; another sweeper skips the rows held here.
SELECT session_id FROM recordings
WHERE session_id = ANY ($1) AND purged_at IS NULL
FOR UPDATE SKIP LOCKED
