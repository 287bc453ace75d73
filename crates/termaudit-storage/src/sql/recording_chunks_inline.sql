-- Takes chunks $2 of recording $1 back out of object $4: bodies $3.
UPDATE recording_chunks AS c
SET data = x.data, object_id = NULL, object_offset = NULL, object_length = NULL
FROM unnest($2::int4[], $3::bytea[]) AS x (seq, data)
WHERE c.session_id = $1 AND c.seq = x.seq AND c.object_id = $4
