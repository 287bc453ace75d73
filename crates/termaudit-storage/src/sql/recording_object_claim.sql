-- Takes object $2 of store $1 off the deletion list for the transaction
-- that points chunks at it; nothing when a deleter has taken it (then that
-- transaction must not commit).
DELETE FROM recording_object_deletions
WHERE store = $1 AND key = $2
RETURNING key
