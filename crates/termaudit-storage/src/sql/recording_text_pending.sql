-- Whether recording $1's text is still being extracted from chunks
-- emulated before the text existed (V17): until then its text lacks them.
SELECT EXISTS (
    SELECT 1 FROM recording_emulation
    WHERE session_id = $1 AND next_seq < backfill_until
) AS pending
