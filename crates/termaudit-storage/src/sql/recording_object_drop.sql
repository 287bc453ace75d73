-- Object $1 (store $2, key $3) no longer holds anything: listed for
-- deletion after $4 seconds, its row removed.
WITH gone AS (
    DELETE FROM recording_objects WHERE id = $1
)
INSERT INTO recording_object_deletions (store, key, delete_after)
VALUES ($2, $3, now() + make_interval(secs => $4))
ON CONFLICT (store, key) DO NOTHING
