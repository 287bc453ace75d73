-- Claims recordings for purging; another sweeper skips the rows held here.
-- The hold is checked again under the row lock: placing a hold locks the
-- same row, so a hold and a purge of one recording never interleave.
SELECT r.session_id FROM recordings r
WHERE r.session_id = ANY ($1) AND r.purged_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = r.session_id)
FOR UPDATE OF r SKIP LOCKED
