-- Objects of store $1 listed for deletion whose time has come, at most $2,
-- locked until the deleting transaction ends (a compactor's claim waits,
-- then finds them gone); those another deleter holds are skipped.
SELECT key
FROM recording_object_deletions
WHERE store = $1 AND delete_after <= now()
ORDER BY delete_after
LIMIT $2
FOR UPDATE SKIP LOCKED
