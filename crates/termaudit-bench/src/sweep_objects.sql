-- The retention benchmark's objects variant, on a copy of `sweep_seed.sql`'s
-- data: every recording's bodies (two chunks of 1024 bytes, a snapshot of
-- 32) in one object of {store}, as the compactor leaves a finalized
-- recording, and gone from PostgreSQL. The bench writes the objects
-- themselves into the store before each run.
UPDATE recordings SET store = '{store}';

INSERT INTO recording_objects (session_id, store, key, size_bytes)
SELECT session_id, '{store}', 'sweep/recordings/' || session_id || '/0', 2080
FROM recordings;

UPDATE recording_chunks AS c
SET data = NULL, object_id = o.id, object_offset = c.seq * 1024, object_length = 1024
FROM recording_objects AS o WHERE o.session_id = c.session_id;

UPDATE recording_snapshots AS s
SET state = NULL, object_id = o.id, object_offset = 2048, object_length = 32
FROM recording_objects AS o WHERE o.session_id = s.session_id;

ANALYZE;
