-- A purge: the objects of recordings $1 (their chunks and snapshots gone)
-- are listed for deletion now, and their rows removed.
WITH gone AS (
    DELETE FROM recording_objects
    WHERE session_id = ANY ($1)
    RETURNING store, key
)
INSERT INTO recording_object_deletions (store, key, delete_after)
SELECT store, key, now() FROM gone
ON CONFLICT (store, key) DO UPDATE SET delete_after = now()
