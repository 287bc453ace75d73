-- Object $2 of store $1 is about to be written: listed for deletion after
-- $3 seconds unless the transaction that points chunks at it takes it off.
INSERT INTO recording_object_deletions (store, key, delete_after)
VALUES ($1, $2, now() + make_interval(secs => $3))
