-- A watch ends; no row when another replica ended it first.
DELETE FROM recording_watches WHERE id = $1 RETURNING id
