-- The chunk whose bytes in the download hold offset $2, with the last event
-- time before it (which decides the markers still to merge).
SELECT c.seq, c.file_offset,
       coalesce((SELECT p.last_time_us FROM recording_chunks AS p
                 WHERE p.session_id = c.session_id AND p.seq = c.seq - 1), 0) AS previous_time_us
FROM recording_chunks AS c
WHERE c.session_id = $1 AND c.file_offset <= $2
ORDER BY c.file_offset DESC, c.seq DESC
LIMIT 1
