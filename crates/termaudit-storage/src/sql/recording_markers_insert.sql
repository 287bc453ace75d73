INSERT INTO recording_markers (session_id, seq, ordinal, time_us, label)
SELECT $1, $2, m.ordinal, m.time_us, m.label
FROM unnest($3::int4[], $4::int8[], $5::text[]) AS m (ordinal, time_us, label)
