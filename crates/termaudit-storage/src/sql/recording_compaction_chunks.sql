-- The first chunks of recording $1 after seq $3 whose bodies are still in
-- PostgreSQL, in order, as many as fit in $2 compressed bytes (at least
-- one).
SELECT seq, data
FROM (
    SELECT seq, data, sum(octet_length(data)) OVER (ORDER BY seq) AS running
    FROM recording_chunks
    WHERE session_id = $1 AND data IS NOT NULL AND seq > $3
    ORDER BY seq
    LIMIT 4096
) AS c
WHERE running - octet_length(data) < $2
ORDER BY seq
