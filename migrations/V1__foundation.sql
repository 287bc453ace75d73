-- Projects are the tenants: every other row belongs to one, and every API
-- path is scoped by a project's slug.
CREATE TABLE projects (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE
               CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The audit log: what happened, who did it, to which session. Append-only:
-- the database itself refuses to change or remove an entry.
CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES projects (id),
    occurred_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_type    text NOT NULL,
    actor_subject text,
    actor_name    text,
    session_id    uuid,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_events_project_time ON audit_events (project_id, occurred_at DESC, id DESC);
CREATE INDEX audit_events_session ON audit_events (session_id, occurred_at) WHERE session_id IS NOT NULL;

CREATE FUNCTION audit_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();
