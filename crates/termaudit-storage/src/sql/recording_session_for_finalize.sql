-- Locked against appends (which share-lock the session): the activity
-- markers the digest covers are the ones the download will show.
SELECT project_id, recorded, opened_at
FROM sessions
WHERE id = $1
FOR NO KEY UPDATE
