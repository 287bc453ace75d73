-- Indexes for the references to recording_objects. Removing an object's
-- row (a purge lists its object for deletion) makes PostgreSQL check that
-- no chunk or snapshot still points at it; without an index on
-- `object_id` that check scanned both tables for every object removed, so
-- a retention sweep with objects slowed down with the number of
-- recordings stored (4 000 recordings a minute at 10 000). Partial: the
-- recordings kept in PostgreSQL have no object.
CREATE INDEX recording_chunks_object ON recording_chunks (object_id)
    WHERE object_id IS NOT NULL;
CREATE INDEX recording_snapshots_object ON recording_snapshots (object_id)
    WHERE object_id IS NOT NULL;
