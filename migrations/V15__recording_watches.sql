-- Who watches a recording live now (GET .../recording/live): a lease per
-- watch, renewed by the replica that serves it while the stream lasts and
-- deleted, with the watch's end in the audit log, when it stops. A replica
-- that dies leaves its leases to expire: any other replica then deletes
-- them and writes their end, so nobody is listed as watching who is not.
-- Times are the database's (replicas' clocks never compare).
CREATE TABLE recording_watches (
    id              uuid PRIMARY KEY,
    project_id      uuid NOT NULL REFERENCES projects (id),
    session_id      uuid NOT NULL REFERENCES sessions (id),
    watcher_subject text NOT NULL,
    watcher_name    text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz NOT NULL
);
CREATE INDEX recording_watches_session ON recording_watches (session_id);
CREATE INDEX recording_watches_lease ON recording_watches (lease_until);

-- Default privileges (V8) cover it; said here too, as for every table the
-- server changes.
GRANT SELECT, INSERT, UPDATE, DELETE ON recording_watches TO termaudit_app;

-- Whether non-production sessions may be watched live (production sessions
-- always may).
ALTER TABLE terminal_policies ADD COLUMN watch_non_production boolean NOT NULL DEFAULT true;
