-- recording_chunks_inline.sql for snapshots ($2: their after_seq).
UPDATE recording_snapshots AS s
SET state = x.state, object_id = NULL, object_offset = NULL, object_length = NULL
FROM unnest($2::int4[], $3::bytea[]) AS x (after_seq, state)
WHERE s.session_id = $1 AND s.after_seq = x.after_seq AND s.object_id = $4
