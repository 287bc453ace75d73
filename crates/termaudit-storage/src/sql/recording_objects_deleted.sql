DELETE FROM recording_object_deletions
WHERE store = $1 AND key = ANY ($2)
