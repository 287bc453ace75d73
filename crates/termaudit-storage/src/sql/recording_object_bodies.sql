-- What object $1 holds: chunks (kind 'c', by seq) and snapshots (kind 's',
-- by after_seq), with their ranges.
SELECT 'c' AS kind, seq AS key, object_offset, object_length FROM recording_chunks WHERE object_id = $1
UNION ALL
SELECT 's', after_seq, object_offset, object_length FROM recording_snapshots WHERE object_id = $1
