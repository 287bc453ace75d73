-- For each recording of project $1 in $2: its first $4 lines holding the
-- pattern $3 (a LIKE pattern over the folded text) in the recording's
-- order, and how many lines hold it, counted up to $5. Each recording's
-- lines are read in primary-key order and the reading stops at the count's
-- cap (`|| ''` keeps the trigram index, which would read every matching
-- line of the project, out of these per-recording plans).
SELECT s.id AS session_id, m.time_us, m.line, c.total
FROM unnest($2::uuid[]) AS s (id)
CROSS JOIN LATERAL (
    SELECT count(*) AS total
    FROM (
        SELECT 1 FROM recording_text t
        WHERE t.session_id = s.id AND t.project_id = $1
          AND (coalesce(t.folded, t.line) || '') LIKE $3
        LIMIT $5
    ) AS capped
) AS c
CROSS JOIN LATERAL (
    SELECT t.seq, t.n, t.time_us, t.line
    FROM recording_text t
    WHERE t.session_id = s.id AND t.project_id = $1
      AND (coalesce(t.folded, t.line) || '') LIKE $3
    ORDER BY t.seq, t.n
    LIMIT $4
) AS m
ORDER BY s.id, m.seq, m.n
