-- Each run of the retention sweep: when, as of which time, what it purged.
CREATE TABLE retention_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    -- The time the sweep judged expiry by.
    as_of        timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    purged       integer NOT NULL DEFAULT 0,
    bytes_freed  bigint NOT NULL DEFAULT 0,
    errors       integer NOT NULL DEFAULT 0,
    error_detail text
);
CREATE INDEX retention_runs_recent ON retention_runs (started_at DESC);

-- What each run purged per project, for the project-scoped retention view.
CREATE TABLE retention_run_projects (
    run_id      bigint NOT NULL REFERENCES retention_runs (id),
    project_id  uuid NOT NULL REFERENCES projects (id),
    purged      integer NOT NULL DEFAULT 0,
    bytes_freed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, project_id)
);

-- The sweep looks for finalized, unpurged recordings by their session's end.
CREATE INDEX recordings_unpurged ON recordings (session_id) WHERE purged_at IS NULL AND finalized_at IS NOT NULL;
CREATE INDEX sessions_ended_recorded ON sessions (ended_at) WHERE recorded AND ended_at IS NOT NULL;
