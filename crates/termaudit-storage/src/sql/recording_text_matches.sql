-- For each recording of project $1 in $2: its first $4 lines holding the
-- pattern $3 (a LIKE pattern over the folded text) in the recording's
-- order, and how many lines hold it, counted up to $5. Only the lines of
-- chunks whose window codes hold the query's ($6, recording_text_grams,
-- V21) are read, chunk after chunk in the recording's order, and the
-- reading stops at the count's cap.
SELECT s.id AS session_id, m.time_us, m.line, c.total
FROM unnest($2::uuid[]) AS s (id)
CROSS JOIN LATERAL (
    SELECT count(*) AS total
    FROM (
        SELECT 1
        FROM recording_text_grams g
        JOIN recording_text t ON t.session_id = g.session_id AND t.seq = g.seq
        WHERE g.session_id = s.id AND g.project_id = $1 AND g.grams @> $6::int4[]
          AND coalesce(t.folded, t.line) LIKE $3
        LIMIT $5
    ) AS capped
) AS c
CROSS JOIN LATERAL (
    SELECT t.seq, t.n, t.time_us, t.line
    FROM recording_text_grams g
    JOIN recording_text t ON t.session_id = g.session_id AND t.seq = g.seq
    WHERE g.session_id = s.id AND g.project_id = $1 AND g.grams @> $6::int4[]
      AND coalesce(t.folded, t.line) LIKE $3
    ORDER BY g.seq, t.n
    LIMIT $4
) AS m
ORDER BY s.id, m.seq, m.n
