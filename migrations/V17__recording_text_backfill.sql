-- Text for the recordings emulated before V14.
--
-- V14 extracts a recording's text while its chunks are emulated, so the
-- recordings emulated before it have none: their search would find nothing
-- and their transcript would be empty. Each of them gets its emulation row
-- back (or, live, its row rewound) at chunk 0 with `backfill_until` = the
-- chunks emulated already: the workers play those again from the start for
-- their text only (no snapshot, no hook: those exist and were fed), then go
-- on as usual. While next_seq < backfill_until the recording's text is
-- pending, and the API says so rather than finding nothing.
--
-- Written to run again harmlessly (the tests queue recordings with it, as
-- an upgrade does): a recording with text or being backfilled is left be.
ALTER TABLE recording_emulation
    ADD COLUMN IF NOT EXISTS backfill_until integer NOT NULL DEFAULT 0
        CHECK (backfill_until >= 0);

-- Finalized recordings whose emulation completed (its row went), not
-- purged, with chunks and no text.
INSERT INTO recording_emulation (session_id, backfill_until)
SELECT r.session_id, r.next_seq
FROM recordings AS r
WHERE r.finalized_at IS NOT NULL AND r.purged_at IS NULL AND r.header IS NOT NULL
  AND r.next_seq > 0
  AND NOT EXISTS (SELECT 1 FROM recording_emulation AS e WHERE e.session_id = r.session_id)
  AND NOT EXISTS (SELECT 1 FROM recording_text AS t WHERE t.session_id = r.session_id)
ON CONFLICT (session_id) DO NOTHING;

-- Recordings still being emulated (live, or finalized and behind) whose
-- chunks emulated so far left no text: rewound to chunk 0, the terminal
-- rebuilt by the replay, the lease let go (a worker of an older replica
-- then writes nothing: its position moved).
UPDATE recording_emulation AS e
SET backfill_until = e.next_seq,
    next_seq = 0,
    cols = NULL,
    rows = NULL,
    state = NULL,
    output_since_snapshot = 0,
    last_snapshot_us = 0,
    text_pending = '',
    text_time_us = NULL,
    holder = NULL,
    lease_until = NULL
FROM recordings AS r
WHERE r.session_id = e.session_id AND r.purged_at IS NULL
  AND e.next_seq > 0 AND e.backfill_until = 0
  AND NOT EXISTS (SELECT 1 FROM recording_text AS t WHERE t.session_id = e.session_id);
