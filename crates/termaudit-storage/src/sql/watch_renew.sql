-- Renews a watch's lease for $2 seconds; no row when it was ended already
-- (its lease expired and another replica ended it).
UPDATE recording_watches
SET lease_until = now() + make_interval(secs => $2)
WHERE id = $1
RETURNING id
