-- Terminal emulation off the ingest's path.
--
-- A chunk is answered once it is checked and stored. The terminal emulation
-- that keeps the seek snapshots runs afterwards, in a worker per recording
-- on whichever replica holds the recording's lease. This table is the
-- emulation's side of a recording: how far it has got, the terminal there,
-- and who works on it until when. A row exists from a recording's first
-- chunk until its emulation has caught up after finalization, so the table
-- holds live recordings and those still behind, not the whole history.
CREATE TABLE recording_emulation (
    session_id  uuid PRIMARY KEY REFERENCES recordings (session_id),
    -- Chunks 0 .. next_seq-1 are emulated: their snapshots are stored and
    -- the terminal after them is below. Never ahead of recordings.next_seq.
    next_seq    integer NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
    -- The terminal after chunk next_seq-1 (zstd of its dump); NULL before
    -- the first chunk is emulated.
    cols        integer,
    rows        integer,
    state       bytea,
    -- The snapshot rule's counters since the last snapshot
    -- (termaudit_domain::asciicast::SnapshotSchedule).
    output_since_snapshot bigint NOT NULL DEFAULT 0,
    last_snapshot_us      bigint NOT NULL DEFAULT 0,
    -- The lease: the replica (a random id per process) emulating it, and
    -- until when, in the database's time (replicas' clocks never compare).
    -- Renewed while it works; any replica takes it over once it expires.
    holder      uuid,
    lease_until timestamptz,
    CHECK ((holder IS NULL) = (lease_until IS NULL))
);
ALTER TABLE recording_emulation ALTER COLUMN state SET STORAGE EXTERNAL;

-- When a chunk was stored: the emulation's lag in seconds is the age of the
-- oldest chunk it has not played. Chunks stored before this migration get
-- its time (a constant default: no table rewrite).
ALTER TABLE recording_chunks ADD COLUMN stored_at timestamptz NOT NULL DEFAULT now();

-- The live state moves here from the recordings; recordings already
-- finalized are fully emulated (their live state was cleared).
INSERT INTO recording_emulation
    (session_id, next_seq, cols, rows, state, output_since_snapshot, last_snapshot_us)
SELECT session_id, next_seq, live_cols, live_rows, live_state, output_since_snapshot,
       last_snapshot_us
FROM recordings
WHERE finalized_at IS NULL AND header IS NOT NULL;

ALTER TABLE recordings
    DROP COLUMN live_cols,
    DROP COLUMN live_rows,
    DROP COLUMN live_state,
    DROP COLUMN output_since_snapshot,
    DROP COLUMN last_snapshot_us;
