-- For each recording $1 (with the last chunk read of it, $2, -1 for none):
-- its next $4 rows of text, in the recording's order, whose codes hold
-- every three-character code of the query ($3; none for a query under
-- three characters, which every row's hold) or every dense code of it ($5,
-- V30; termaudit_domain's QueryCodes). Their lines are tested in Rust
-- (recordings/text.rs).
SELECT s.id AS session_id, t.seq, t.body
FROM unnest($1::uuid[], $2::int4[]) AS s (id, after)
CROSS JOIN LATERAL (
    SELECT t.seq, t.body
    FROM recording_text AS t
    WHERE t.session_id = s.id AND t.seq > s.after
      AND (t.grams @> $3::int4[] OR t.dense @> $5::int4[])
    ORDER BY t.seq
    LIMIT $4
) AS t
