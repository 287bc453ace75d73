-- The newest snapshot that covers only chunks before $2.
SELECT s.after_seq, s.at_time_us, s.cols, s.rows, s.state,
       o.store AS object_store, o.key AS object_key, s.object_offset, s.object_length
FROM recording_snapshots AS s
LEFT JOIN recording_objects AS o ON o.id = s.object_id
WHERE s.session_id = $1 AND s.after_seq < $2
ORDER BY s.after_seq DESC
LIMIT 1
