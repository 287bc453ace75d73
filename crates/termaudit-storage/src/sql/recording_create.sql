-- A recording's row, stored in $3 (`postgres` or an object store's root)
-- once compacted.
INSERT INTO recordings (session_id, started_at, store)
VALUES ($1, $2, $3)
ON CONFLICT (session_id) DO NOTHING
