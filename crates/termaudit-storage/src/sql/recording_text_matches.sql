-- The first $4 lines holding the pattern $3 (a LIKE pattern over the folded
-- text) of each recording of project $1 in $2, in each recording's order
-- (finished lines by chunk and rank, the current screen last), each with
-- how many lines of its recording hold it.
SELECT session_id, time_us, line, total
FROM (
    SELECT t.session_id, t.time_us, t.line,
           count(*) OVER (PARTITION BY t.session_id) AS total,
           row_number() OVER (PARTITION BY t.session_id ORDER BY (t.seq = -1), t.seq, t.n) AS k
    FROM recording_text t
    WHERE t.project_id = $1 AND t.session_id = ANY ($2) AND coalesce(t.folded, t.line) LIKE $3
) AS m
WHERE k <= $4
ORDER BY session_id, k
