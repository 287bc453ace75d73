-- Exports under way. The audit log is append-only, so an export is two
-- entries: `history.export_started` when it starts and `history.exported`
-- when it ends. The start inserts a row here and takes an advisory lock on
-- the export's own connection, in one statement; the end deletes the row
-- in the transaction that appends the end entry. A row whose lock is free
-- belongs to an export whose process died: any replica's background task
-- appends its `interrupted` end (deleting the row first, so each export
-- ends exactly once, whoever ends it).
CREATE TABLE exports_running (
    -- The `history.export_started` entry.
    started_id bigint PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES projects (id),
    started_at timestamptz NOT NULL DEFAULT now()
);
