-- Records the emulation of recording $1 up to chunk $4 - 1, from $3, with
-- the snapshots of the chunks played ($11.. $15, arrays in the same order),
-- the text lines they finished ($18.. $22) and the screen after them ($23,
-- $24, at time $25), which replaces the recording's previous screen, and
-- renews the lease of holder $2 for $10 seconds; returns whether it did.
-- The window codes of the chunks that finished lines ($26, $27: each
-- chunk's as an array literal) and of the screen ($28) go to
-- recording_text_grams (V21), the screen's replacing the previous screen's
-- (and going when the screen shows no line).
-- Changes nothing unless $2 still holds the lease and the position is still
-- $3: a worker whose lease was taken over never writes, and each chunk's
-- lines are written once. Snapshots of chunks below backfill_until (V17:
-- played again for their text only) exist already and are not written.
WITH moved AS (
    UPDATE recording_emulation
    SET next_seq = $4,
        cols = $5,
        rows = $6,
        state = $7,
        output_since_snapshot = $8,
        last_snapshot_us = $9,
        text_pending = $16,
        text_time_us = $17,
        lease_until = now() + make_interval(secs => $10)
    WHERE session_id = $1 AND holder = $2 AND next_seq = $3
    RETURNING session_id, backfill_until
), kept AS (
    INSERT INTO recording_snapshots (session_id, after_seq, at_time_us, cols, rows, state)
    SELECT m.session_id, s.after_seq, s.at_time_us, s.cols, s.rows, s.state
    FROM moved AS m,
         unnest($11::int4[], $12::int8[], $13::int4[], $14::int4[], $15::bytea[])
             AS s (after_seq, at_time_us, cols, rows, state)
    WHERE s.after_seq >= m.backfill_until
), project AS (
    SELECT m.session_id, s.project_id FROM moved AS m JOIN sessions AS s ON s.id = m.session_id
), finished AS (
    INSERT INTO recording_text (session_id, project_id, seq, n, time_us, line, folded)
    SELECT p.session_id, p.project_id, l.seq, l.n, l.time_us, l.line, l.folded
    FROM project AS p,
         unnest($18::int4[], $19::int4[], $20::int8[], $21::text[], $22::text[])
             AS l (seq, n, time_us, line, folded)
    ON CONFLICT (session_id, seq, n) DO NOTHING
), screen AS (
    INSERT INTO recording_text (session_id, project_id, seq, n, time_us, line, folded)
    SELECT p.session_id, p.project_id, 2147483647, (l.n - 1)::int4, $25, l.line, l.folded
    FROM project AS p,
         unnest($23::text[], $24::text[]) WITH ORDINALITY AS l (line, folded, n)
    ON CONFLICT (session_id, seq, n)
        DO UPDATE SET time_us = excluded.time_us, line = excluded.line, folded = excluded.folded
), chunk_grams AS (
    INSERT INTO recording_text_grams (session_id, project_id, seq, grams)
    SELECT p.session_id, p.project_id, g.seq, g.grams::int4[]
    FROM project AS p, unnest($26::int4[], $27::text[]) AS g (seq, grams)
    ON CONFLICT (session_id, seq) DO NOTHING
), screen_grams AS (
    INSERT INTO recording_text_grams (session_id, project_id, seq, grams)
    SELECT p.session_id, p.project_id, 2147483647, $28::int4[]
    FROM project AS p
    WHERE cardinality($23::text[]) > 0
    ON CONFLICT (session_id, seq) DO UPDATE SET grams = excluded.grams
), no_screen_grams AS (
    DELETE FROM recording_text_grams AS g
    USING moved AS m
    WHERE g.session_id = m.session_id AND g.seq = 2147483647
      AND cardinality($23::text[]) = 0
), gone AS (
    DELETE FROM recording_text AS t
    USING moved AS m
    WHERE t.session_id = m.session_id AND t.seq = 2147483647
      AND t.n >= cardinality($23::text[])
)
SELECT count(*) AS moved FROM moved
