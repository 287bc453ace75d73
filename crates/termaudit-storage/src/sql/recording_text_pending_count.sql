-- How many of project $1's recordings have text still being extracted from
-- chunks emulated before the text existed (V17): a search misses them.
SELECT count(*) AS pending
FROM recording_emulation AS e
JOIN sessions AS s ON s.id = e.session_id
WHERE s.project_id = $1 AND e.next_seq < e.backfill_until
