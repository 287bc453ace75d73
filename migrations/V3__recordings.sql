-- Recordings: what a recorded session's terminal showed, as asciicast v2.
--
-- The gateway uploads a recording in numbered chunks while the session runs.
-- Each chunk is stored once, append-only, as its canonical v2 event lines
-- compressed with zstd, with the times of its first and last events so a time
-- window is found by index. When the session ends, however it ends, the
-- recording is finalized: its size, event count, duration and SHA-256 over
-- the canonical file (the download) are stored.

-- One row per recorded session that has begun uploading or has ended.
CREATE TABLE recordings (
    session_id        uuid PRIMARY KEY REFERENCES sessions (id),
    -- The canonical v2 header line; NULL until chunk 0 arrives (a session
    -- may end before it does).
    header            text,
    -- The uploaded file's version: later chunks are read the same way.
    source_version    smallint CHECK (source_version IN (2, 3)),
    -- Wall-clock time of the recording's time zero: activity markers are
    -- placed relative to it.
    started_at        timestamptz NOT NULL,
    -- The next chunk expected; chunks 0 .. next_seq-1 are stored.
    next_seq          integer NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
    -- Totals of the stored chunks (uploaded events only).
    chunk_events      bigint NOT NULL DEFAULT 0,
    chunk_bytes       bigint NOT NULL DEFAULT 0,
    last_time_us      bigint NOT NULL DEFAULT 0 CHECK (last_time_us >= 0),
    -- The terminal after the last chunk (zstd of a snapshot), so the next
    -- chunk's snapshots continue from it without a replay.
    live_cols         integer,
    live_rows         integer,
    live_state        bytea,
    -- Bytes of output, and the time, since the last stored snapshot.
    output_since_snapshot bigint NOT NULL DEFAULT 0,
    last_snapshot_us  bigint NOT NULL DEFAULT 0,
    -- Set once, when the session ends.
    finalized_at      timestamptz,
    size_bytes        bigint,
    event_count       bigint,
    duration_us       bigint,
    sha256            bytea,
    -- Byte offset in the file where the markers after the last chunk start.
    trailer_offset    bigint,
    -- Set by the retention sweep when the content is removed.
    purged_at         timestamptz,
    purge_reason      text,
    CHECK ((finalized_at IS NULL) = (sha256 IS NULL)),
    CHECK (purged_at IS NULL OR finalized_at IS NOT NULL)
);
ALTER TABLE recordings ALTER COLUMN live_state SET STORAGE EXTERNAL;

CREATE TABLE recording_chunks (
    session_id    uuid NOT NULL REFERENCES recordings (session_id),
    seq           integer NOT NULL CHECK (seq >= 0),
    -- The event times it spans, in microseconds since time zero (both the
    -- previous chunk's last time when it has no event).
    first_time_us bigint NOT NULL CHECK (first_time_us >= 0),
    last_time_us  bigint NOT NULL CHECK (last_time_us >= first_time_us),
    events        integer NOT NULL CHECK (events >= 0),
    -- Uncompressed size of its canonical lines.
    data_bytes    integer NOT NULL CHECK (data_bytes >= 0),
    -- zstd of the canonical v2 event lines, each ending with a newline.
    data          bytea NOT NULL,
    -- SHA-256 of the body as uploaded: a retry with the same body is
    -- accepted, a different one refused.
    upload_sha256 bytea NOT NULL,
    -- Where this chunk's content starts in the downloadable file (markers
    -- merged before its first event included); set when finalized.
    file_offset   bigint,
    PRIMARY KEY (session_id, seq)
);
-- Already compressed: no second compression by TOAST.
ALTER TABLE recording_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
-- A time window: the first chunk whose last event is at or after `from`.
CREATE INDEX recording_chunks_time ON recording_chunks (session_id, last_time_us, seq);
-- A byte range of the download.
CREATE INDEX recording_chunks_offset ON recording_chunks (session_id, file_offset)
    WHERE file_offset IS NOT NULL;

-- Terminal state at chunk boundaries, kept periodically so playback can
-- start anywhere by replaying at most one interval.
CREATE TABLE recording_snapshots (
    session_id uuid NOT NULL REFERENCES recordings (session_id),
    -- The state after every event of chunks 0 ..= after_seq.
    after_seq  integer NOT NULL,
    -- The last event time it covers.
    at_time_us bigint NOT NULL,
    cols       integer NOT NULL,
    rows       integer NOT NULL,
    -- zstd of the terminal's escape-sequence dump.
    state      bytea NOT NULL,
    PRIMARY KEY (session_id, after_seq)
);
ALTER TABLE recording_snapshots ALTER COLUMN state SET STORAGE EXTERNAL;
CREATE INDEX recording_snapshots_time ON recording_snapshots (session_id, at_time_us, after_seq);

-- Markers (`m` events) uploaded in the recording itself, for the recording's
-- summary without reading it.
CREATE TABLE recording_markers (
    session_id uuid NOT NULL REFERENCES recordings (session_id),
    seq        integer NOT NULL,
    ordinal    integer NOT NULL,
    time_us    bigint NOT NULL,
    label      text NOT NULL,
    PRIMARY KEY (session_id, seq, ordinal)
);
