-- The chunks from seq $2 on (before $4), in order, as many as fit in $3
-- bytes once decompressed (at least one), and at most $5 (the scan for the
-- running sum stops there). A chunk's body is `data`, or
-- a byte range of an object once compacted.
SELECT c.seq, c.first_time_us, c.last_time_us, c.data_bytes, c.file_offset, c.data,
       o.store AS object_store, o.key AS object_key, c.object_offset, c.object_length
FROM (
    SELECT seq, first_time_us, last_time_us, data_bytes, file_offset, data, object_id,
           object_offset, object_length,
           sum(data_bytes) OVER (ORDER BY seq) AS running
    FROM recording_chunks
    WHERE session_id = $1 AND seq >= $2 AND seq < $4
    ORDER BY seq
    LIMIT $5
) AS c
LEFT JOIN recording_objects AS o ON o.id = c.object_id
WHERE c.running - c.data_bytes < $3
ORDER BY c.seq
