-- recording_chunks_repoint.sql for snapshots ($3: their after_seq).
UPDATE recording_snapshots AS s
SET state = NULL, object_id = $2, object_offset = x.object_offset, object_length = x.object_length
FROM unnest($3::int4[], $4::int8[], $5::int4[]) AS x (after_seq, object_offset, object_length)
WHERE s.session_id = $1 AND s.after_seq = x.after_seq AND s.state IS NOT NULL
