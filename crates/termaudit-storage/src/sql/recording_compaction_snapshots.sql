-- The first snapshots of recording $1 whose states are still in
-- PostgreSQL, in order, as many as fit in $2 compressed bytes, of those
-- after chunks after $4 and before $3: each goes right before the chunk
-- after it in the object being packed, so a snapshot waits for the object
-- its next chunk goes into.
SELECT after_seq, state
FROM (
    SELECT after_seq, state, sum(octet_length(state)) OVER (ORDER BY after_seq) AS running
    FROM recording_snapshots
    WHERE session_id = $1 AND state IS NOT NULL AND after_seq > $4 AND after_seq < $3
    ORDER BY after_seq
    LIMIT 4096
) AS s
WHERE running - octet_length(state) < $2
ORDER BY after_seq
