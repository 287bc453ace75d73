SELECT count(*)
FROM recordings
WHERE finalized_at IS NOT NULL AND purged_at IS NULL AND store <> $1
