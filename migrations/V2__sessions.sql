-- Targets: the application and database shells sessions open on. Each sits in
-- an environment classified production or non-production.
CREATE TABLE targets (
    id                uuid PRIMARY KEY,
    project_id        uuid NOT NULL REFERENCES projects (id),
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('application', 'database')),
    environment       text NOT NULL,
    environment_class text NOT NULL CHECK (environment_class IN ('production', 'non_production')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);

-- A project's terminal policy; a project without a row has the defaults.
CREATE TABLE terminal_policies (
    project_id                    uuid PRIMARY KEY REFERENCES projects (id),
    retention_days_production     integer NOT NULL CHECK (retention_days_production BETWEEN 1 AND 3650),
    retention_days_non_production integer NOT NULL CHECK (retention_days_non_production BETWEEN 1 AND 3650),
    record_non_production         boolean NOT NULL,
    require_reason_non_production boolean NOT NULL,
    reconnect_grace_seconds       integer NOT NULL CHECK (reconnect_grace_seconds BETWEEN 0 AND 86400),
    updated_at                    timestamptz NOT NULL DEFAULT now(),
    updated_by                    text
);

-- Sessions keep the target's name and environment as they were when the
-- session opened: renaming a target later does not rewrite history.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    project_id         uuid NOT NULL REFERENCES projects (id),
    target_id          uuid NOT NULL REFERENCES targets (id),
    target_name        text NOT NULL,
    target_kind        text NOT NULL,
    environment        text NOT NULL,
    environment_class  text NOT NULL CHECK (environment_class IN ('production', 'non_production')),
    mode               text NOT NULL CHECK (mode IN ('shell', 'database', 'runbook', 'command')),
    reason             text,
    user_subject       text NOT NULL,
    user_name          text NOT NULL,
    recorded           boolean NOT NULL,
    status             text NOT NULL CHECK (status IN ('active', 'dropped', 'closed')),
    drop_cause         text CHECK (drop_cause IN ('connection_lost', 'gateway_lost')),
    opened_at          timestamptz NOT NULL,
    last_seen_at       timestamptz NOT NULL,
    dropped_at         timestamptz,
    ended_at           timestamptz,
    close_reason       text CHECK (close_reason IN
                           ('user_exit', 'revoked', 'grace_expired', 'gateway_lost', 'target_error', 'idle_timeout')),
    revoked_by_subject text,
    revoked_by_name    text,
    revoke_reason      text,
    -- Production sessions are always recorded.
    CHECK (recorded OR environment_class <> 'production'),
    CHECK ((status = 'closed') = (ended_at IS NOT NULL AND close_reason IS NOT NULL)),
    -- dropped_at and drop_cause keep the last drop after a reconnect or close.
    CHECK (status <> 'dropped' OR (dropped_at IS NOT NULL AND drop_cause IS NOT NULL))
);

-- The history list: newest first within a project, keyset-paginated on
-- (opened_at, id); one index per common filter keeps each page an index scan.
CREATE INDEX sessions_project_opened ON sessions (project_id, opened_at DESC, id DESC);
CREATE INDEX sessions_project_status ON sessions (project_id, status, opened_at DESC, id DESC);
CREATE INDEX sessions_project_user ON sessions (project_id, user_subject, opened_at DESC, id DESC);
CREATE INDEX sessions_project_target ON sessions (project_id, target_id, opened_at DESC, id DESC);
CREATE INDEX sessions_project_class ON sessions (project_id, environment_class, opened_at DESC, id DESC);
CREATE INDEX sessions_project_mode ON sessions (project_id, mode, opened_at DESC, id DESC);
-- Background work: dropped sessions whose grace window may have passed, and
-- live sessions whose gateway went quiet.
CREATE INDEX sessions_dropped ON sessions (dropped_at) WHERE status = 'dropped';
CREATE INDEX sessions_live_last_seen ON sessions (last_seen_at) WHERE status = 'active';

-- Free text over reason, target and user, by trigram.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX sessions_text ON sessions USING gin (
    (coalesce(reason, '') || ' ' || target_name || ' ' || user_subject || ' ' || user_name) gin_trgm_ops
);

-- Explicit command and runbook activity, as the gateway reports it. The
-- gateway's event id makes retried appends idempotent.
CREATE TABLE session_activity (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id),
    client_event_id text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('command', 'runbook', 'runbook_step')),
    text            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    exit_code       integer,
    duration_ms     bigint CHECK (duration_ms >= 0),
    UNIQUE (session_id, client_event_id)
);
CREATE INDEX session_activity_timeline ON session_activity (session_id, occurred_at, id);
CREATE INDEX session_activity_text ON session_activity USING gin (text gin_trgm_ops);

-- Statements run in database shells.
CREATE TABLE database_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id),
    client_event_id text NOT NULL,
    statement       text NOT NULL,
    database        text,
    occurred_at     timestamptz NOT NULL,
    rows_affected   bigint,
    duration_ms     bigint CHECK (duration_ms >= 0),
    error           text,
    UNIQUE (session_id, client_event_id)
);
CREATE INDEX database_events_timeline ON database_events (session_id, occurred_at, id);

-- Single-use reconnect tokens: only a digest is stored.
CREATE TABLE reconnect_tokens (
    token_sha256 bytea PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES sessions (id),
    user_subject text NOT NULL,
    expires_at   timestamptz NOT NULL,
    redeemed_at  timestamptz
);
CREATE INDEX reconnect_tokens_session ON reconnect_tokens (session_id);
