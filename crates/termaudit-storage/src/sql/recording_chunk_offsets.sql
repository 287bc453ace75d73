UPDATE recording_chunks AS c
SET file_offset = o.file_offset
FROM unnest($2::int4[], $3::int8[]) AS o (seq, file_offset)
WHERE c.session_id = $1 AND c.seq = o.seq
