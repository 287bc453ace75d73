-- When the sequencer last had nothing left to append, and last ran.
SELECT (SELECT caught_up_at FROM audit_log_sequencer) AS caught_up_at,
       (SELECT ran_at FROM audit_log_sequencer) AS ran_at
