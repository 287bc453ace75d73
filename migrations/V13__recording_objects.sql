-- Recordings on object storage (S3 and S3-compatible servers, or a local
-- directory).
--
-- A chunk is acknowledged once stored in PostgreSQL, as before. When the
-- recordings' store is an object store, a compactor later writes a
-- recording's stored chunks (and snapshots) into objects of at least 8 MiB
-- (or the rest, once finalized) and, in one transaction, points each chunk
-- at its object and byte range and drops its body from PostgreSQL. The
-- object is written before that transaction commits, so a row never points
-- at a missing object; an object no row points at is listed in
-- `recording_object_deletions` and deleted there.

-- Where a recording's bytes go once compacted: `postgres` (they stay in
-- the chunks' rows) or an object store's root (`s3://bucket`,
-- `file:///dir`). Set when the recording is created, from the
-- configuration then; reads follow each object's own store.
ALTER TABLE recordings ADD COLUMN store text NOT NULL DEFAULT 'postgres';

-- An object holding compacted chunks and snapshots of one recording: their
-- zstd bodies, one after the other.
CREATE TABLE recording_objects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES recordings (session_id),
    -- The object store's root, as in recordings.store.
    store       text NOT NULL,
    -- The object's key under that root (the configured prefix included).
    key         text NOT NULL,
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store, key)
);
CREATE INDEX recording_objects_session ON recording_objects (session_id);

-- A chunk's body is either in `data` or at `object_offset` in its object,
-- `object_length` bytes long.
ALTER TABLE recording_chunks
    ALTER COLUMN data DROP NOT NULL,
    ADD COLUMN object_id bigint REFERENCES recording_objects (id),
    ADD COLUMN object_offset bigint CHECK (object_offset >= 0),
    ADD COLUMN object_length integer CHECK (object_length >= 0),
    ADD CONSTRAINT recording_chunks_one_body CHECK (
        (data IS NULL) = (object_id IS NOT NULL)
        AND (object_id IS NULL) = (object_offset IS NULL)
        AND (object_id IS NULL) = (object_length IS NULL));
-- What the compactor has left to do.
CREATE INDEX recording_chunks_in_database ON recording_chunks (session_id, seq)
    WHERE data IS NOT NULL;

ALTER TABLE recording_snapshots
    ALTER COLUMN state DROP NOT NULL,
    ADD COLUMN object_id bigint REFERENCES recording_objects (id),
    ADD COLUMN object_offset bigint CHECK (object_offset >= 0),
    ADD COLUMN object_length integer CHECK (object_length >= 0),
    ADD CONSTRAINT recording_snapshots_one_body CHECK (
        (state IS NULL) = (object_id IS NOT NULL)
        AND (object_id IS NULL) = (object_offset IS NULL)
        AND (object_id IS NULL) = (object_length IS NULL));
CREATE INDEX recording_snapshots_in_database ON recording_snapshots (session_id, after_seq)
    WHERE state IS NOT NULL;

-- Objects that no row points at, to delete from their store once
-- `delete_after` has passed: those the compactor is writing (listed, and
-- committed, before the object is written; the transaction that points
-- chunks at the object takes it off the list, so one left here is an
-- object a crash orphaned, deleted after a grace period) and those whose
-- recording was purged (due at once). Whoever deletes an object takes its
-- entry's row lock first, so a compactor never points at an object being
-- deleted.
CREATE TABLE recording_object_deletions (
    store        text NOT NULL,
    key          text NOT NULL,
    delete_after timestamptz NOT NULL,
    PRIMARY KEY (store, key)
);
CREATE INDEX recording_object_deletions_due ON recording_object_deletions (delete_after);
