-- Recording $1's rows of one chunk's text (first_seq NULL: V26) after
-- chunk $2 up to chunk $3, in order, those that start within $4 bytes of
-- stored bodies (the first always), each with how many rows the range
-- holds (in_range): the rest are for a later fold. Never those before
-- the last row of several chunks up to $3: a fold must not reach across
-- it (rows are read in their last chunk's order). Sizes come from the
-- bodies' TOAST pointers (octet_length does not read them).
WITH sized AS (
    SELECT seq,
           sum(octet_length(body)) OVER (ORDER BY seq) - octet_length(body) AS before,
           count(*) OVER () AS in_range
    FROM recording_text
    WHERE session_id = $1 AND seq > $2 AND seq <= $3 AND first_seq IS NULL
      AND seq > coalesce((
          SELECT max(g.seq) FROM recording_text AS g
          WHERE g.session_id = $1 AND g.seq <= $3 AND g.first_seq IS NOT NULL
      ), -1)
)
SELECT t.project_id, t.seq, t.grams, t.dense, t.body, s.in_range
FROM sized AS s
JOIN recording_text AS t ON t.session_id = $1 AND t.seq = s.seq
WHERE s.before < $4
ORDER BY t.seq
