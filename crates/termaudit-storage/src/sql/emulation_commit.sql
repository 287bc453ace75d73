-- Records the emulation of recording $1 up to chunk $4 - 1, from $3, with
-- the snapshots of the chunks played ($11.. $15, arrays in the same order),
-- and renews the lease of holder $2 for $10 seconds; returns whether it
-- did. Changes nothing unless $2 still holds the lease and the position is
-- still $3: a worker whose lease was taken over never writes.
WITH moved AS (
    UPDATE recording_emulation
    SET next_seq = $4,
        cols = $5,
        rows = $6,
        state = $7,
        output_since_snapshot = $8,
        last_snapshot_us = $9,
        lease_until = now() + make_interval(secs => $10)
    WHERE session_id = $1 AND holder = $2 AND next_seq = $3
    RETURNING session_id
), kept AS (
    INSERT INTO recording_snapshots (session_id, after_seq, at_time_us, cols, rows, state)
    SELECT m.session_id, s.after_seq, s.at_time_us, s.cols, s.rows, s.state
    FROM moved AS m,
         unnest($11::int4[], $12::int8[], $13::int4[], $14::int4[], $15::bytea[])
             AS s (after_seq, at_time_us, cols, rows, state)
)
SELECT count(*) AS moved FROM moved
