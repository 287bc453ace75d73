-- Where the sequencer is: the (xact, id) of the last entry it appended.
SELECT xact, audit_event_id
FROM audit_log_leaves
ORDER BY xact DESC, audit_event_id DESC
LIMIT 1
