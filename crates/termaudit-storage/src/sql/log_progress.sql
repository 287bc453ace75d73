-- The sequencer ran at $1; $2 says whether it found nothing more to append.
INSERT INTO audit_log_sequencer (id, caught_up_at, ran_at)
VALUES (true, $1, $1)
ON CONFLICT (id) DO UPDATE
SET ran_at = $1,
    caught_up_at = CASE WHEN $2 THEN $1 ELSE audit_log_sequencer.caught_up_at END
