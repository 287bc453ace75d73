-- The emulation of recording $1 is complete: finalized (no chunk can come)
-- and every stored chunk emulated. Its row goes; nothing when holder $2
-- does not hold the lease or chunks remain.
DELETE FROM recording_emulation AS e
USING recordings AS r
WHERE e.session_id = $1 AND e.holder = $2
  AND r.session_id = e.session_id
  AND r.finalized_at IS NOT NULL
  AND e.next_seq >= r.next_seq
