-- What the emulation of recording $1 works towards: the stored chunks.
SELECT header, next_seq, finalized_at IS NOT NULL AS finalized, purged_at IS NOT NULL AS purged
FROM recordings
WHERE session_id = $1
