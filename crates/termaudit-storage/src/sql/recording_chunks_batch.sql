-- The chunks from seq $2 on (before $4), in order, as many as fit in $3
-- bytes once decompressed (at least one), and at most 64: a batch's memory
-- is bounded whatever the compression ratio.
SELECT seq, first_time_us, last_time_us, data_bytes, file_offset, data
FROM (
    SELECT seq, first_time_us, last_time_us, data_bytes, file_offset, data,
           sum(data_bytes) OVER (ORDER BY seq) AS running
    FROM recording_chunks
    WHERE session_id = $1 AND seq >= $2 AND seq < $4
    ORDER BY seq
    LIMIT 64
) AS c
WHERE running - data_bytes < $3
ORDER BY seq
