-- Explicit commands and runbook steps as markers, at their time since the
-- recording's time zero ($2), from time $3 on.
SELECT time_us, kind, text
FROM (
    SELECT greatest(0, round(extract(epoch FROM (occurred_at - $2)) * 1000000))::int8 AS time_us,
           kind, text, occurred_at, id
    FROM session_activity
    WHERE session_id = $1
) AS a
WHERE time_us >= $3
ORDER BY occurred_at, id
