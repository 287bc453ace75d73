-- Takes the lease of recording $1 for holder $2 for $3 seconds when nobody
-- holds it, its holder's lease has expired, or $2 holds it already (a
-- worker of $2 that failed); returns the emulation's state, or nothing when
-- another replica holds it.
UPDATE recording_emulation
SET holder = $2, lease_until = now() + make_interval(secs => $3)
WHERE session_id = $1
  AND (holder IS NULL OR holder = $2 OR lease_until < now())
RETURNING next_seq, cols, rows, state, output_since_snapshot, last_snapshot_us,
          text_pending, text_time_us, backfill_until
