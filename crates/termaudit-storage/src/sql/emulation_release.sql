-- Gives the lease of holder $2 on recording $1 back.
UPDATE recording_emulation
SET holder = NULL, lease_until = NULL
WHERE session_id = $1 AND holder = $2
