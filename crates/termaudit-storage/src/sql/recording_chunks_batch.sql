-- The chunks from seq $2 on, in order, as many as fit in $3 stored bytes
-- (at least one), and at most 64.
SELECT seq, first_time_us, last_time_us, data_bytes, file_offset, data
FROM (
    SELECT seq, first_time_us, last_time_us, data_bytes, file_offset, data,
           sum(octet_length(data)) OVER (ORDER BY seq) AS running
    FROM recording_chunks
    WHERE session_id = $1 AND seq >= $2 AND seq < $4
    ORDER BY seq
    LIMIT 64
) AS c
WHERE running - octet_length(data) < $3
ORDER BY seq
