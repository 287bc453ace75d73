UPDATE recording_object_deletions SET delete_after = now()
WHERE store = $1 AND key = ANY ($2)
