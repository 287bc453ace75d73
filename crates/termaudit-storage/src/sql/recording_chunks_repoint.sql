-- Points chunks $3 of recording $1 at object $2 (offsets $4, lengths $5, in
-- the same order) and drops their bodies here; only chunks whose bodies are
-- still here.
UPDATE recording_chunks AS c
SET data = NULL, object_id = $2, object_offset = x.object_offset, object_length = x.object_length
FROM unnest($3::int4[], $4::int8[], $5::int4[]) AS x (seq, object_offset, object_length)
WHERE c.session_id = $1 AND c.seq = x.seq AND c.data IS NOT NULL
