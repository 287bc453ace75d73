-- Legal holds: a held session's recording is never purged while the hold
-- lasts. Placing and releasing are audited; the row exists while the hold does.
CREATE TABLE legal_holds (
    session_id        uuid PRIMARY KEY REFERENCES sessions (id),
    project_id        uuid NOT NULL REFERENCES projects (id),
    reason            text NOT NULL,
    placed_at         timestamptz NOT NULL,
    placed_by_subject text NOT NULL,
    placed_by_name    text NOT NULL
);
CREATE INDEX legal_holds_project ON legal_holds (project_id);
