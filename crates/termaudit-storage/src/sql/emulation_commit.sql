-- Records the emulation of recording $1 up to chunk $4 - 1, from $3, with
-- the snapshots of the chunks played ($11.. $15, arrays in the same order),
-- the text the chunks finished ($18.. $20, $23, $25: each row's (last)
-- chunk, three-character codes as an array literal, lines as one body, see
-- recordings/text_body.rs, the first chunk of a row of several, V26, and
-- dense codes as an array literal, V30) and the screen after them ($21,
-- $22, $24: its body, NULL when it shows no line, and its codes), which
-- replaces the recording's previous screen,
-- and renews the lease of holder $2 for $10 seconds; returns whether it
-- did. The text goes to recording_text (V22), a row per chunk.
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
    INSERT INTO recording_text (session_id, project_id, seq, first_seq, grams, dense, body)
    SELECT p.session_id, p.project_id, c.seq, c.first_seq, c.grams::int4[], c.dense::int4[], c.body
    FROM project AS p,
         unnest($18::int4[], $19::text[], $20::bytea[], $23::int4[], $25::text[])
             AS c (seq, grams, body, first_seq, dense)
    ON CONFLICT (session_id, seq) DO NOTHING
), screen AS (
    INSERT INTO recording_text (session_id, project_id, seq, grams, dense, body)
    SELECT p.session_id, p.project_id, 2147483647, $22::int4[], $24::int4[], $21::bytea
    FROM project AS p
    WHERE $21::bytea IS NOT NULL
    ON CONFLICT (session_id, seq) DO UPDATE
        SET grams = excluded.grams, dense = excluded.dense, body = excluded.body
), no_screen AS (
    DELETE FROM recording_text AS t
    USING moved AS m
    WHERE t.session_id = m.session_id AND t.seq = 2147483647 AND $21::bytea IS NULL
)
SELECT count(*) AS moved FROM moved
