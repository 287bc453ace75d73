-- The emulation of recording $1 is complete: finalized (no chunk can come)
-- and every stored chunk emulated. Its row goes, and the screen it showed
-- last becomes the recording's last lines of text (numbered after its last
-- chunk); nothing when holder $2 does not hold the lease or chunks remain.
-- Returns how many rows went (0 or 1).
WITH done AS (
    DELETE FROM recording_emulation AS e
    USING recordings AS r
    WHERE e.session_id = $1 AND e.holder = $2
      AND r.session_id = e.session_id
      AND r.finalized_at IS NOT NULL
      AND e.next_seq >= r.next_seq
    RETURNING e.session_id, e.next_seq
), last_lines AS (
    UPDATE recording_text AS t
    SET seq = d.next_seq
    FROM done AS d
    WHERE t.session_id = d.session_id AND t.seq = 2147483647
)
SELECT count(*) AS done FROM done
