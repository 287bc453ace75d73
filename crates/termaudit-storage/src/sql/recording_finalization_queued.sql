-- Whether an ended session is still to be finalized (it still takes the
-- gateway's reports from before its end).
SELECT 1
FROM recording_finalizations
WHERE session_id = $1
