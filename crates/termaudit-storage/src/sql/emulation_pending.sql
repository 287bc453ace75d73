-- Recordings with work for holder $1 (chunks not emulated yet, or finalized
-- and complete, which ends their emulation) whose lease is free, expired or
-- its own; those waiting longest first, at most $2, the backfills of text
-- (V17: chunks played again, for their text only) after the others.
SELECT e.session_id
FROM recording_emulation AS e
JOIN recordings AS r ON r.session_id = e.session_id
LEFT JOIN recording_chunks AS c ON c.session_id = e.session_id AND c.seq = e.next_seq
WHERE (r.next_seq > e.next_seq OR r.finalized_at IS NOT NULL)
  AND (e.holder IS NULL OR e.holder = $1 OR e.lease_until < now())
ORDER BY e.next_seq < e.backfill_until, c.stored_at NULLS FIRST
LIMIT $2
