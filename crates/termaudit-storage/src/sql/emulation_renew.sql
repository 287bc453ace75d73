-- Renews the lease of holder $2 on recording $1 for $3 seconds; nothing
-- when another replica holds it now.
UPDATE recording_emulation
SET lease_until = now() + make_interval(secs => $3)
WHERE session_id = $1 AND holder = $2
