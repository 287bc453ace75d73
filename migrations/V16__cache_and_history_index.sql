-- Each replica keeps projects (by slug) and policies in memory, because
-- nearly every request reads them and they rarely change. These triggers
-- tell every replica when a row changes, whoever changes it (an API
-- replica, the CLI, someone at psql): NOTIFY termaudit_cache with
-- '<table>:<project id>', or '<table>:' after a TRUNCATE. A notification is
-- delivered when its transaction commits, and not at all if it rolls back.
-- Replicas evict on each and serve nothing from memory while they are not
-- listening (crates/termaudit-storage/src/cache.rs).
CREATE FUNCTION termaudit_cache_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- TG_ARGV[0]: the column holding the project's id.
    old_id text := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) ->> TG_ARGV[0] END;
    new_id text := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) ->> TG_ARGV[0] END;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('termaudit_cache', TG_TABLE_NAME || ':');
        RETURN NULL;
    END IF;
    IF old_id IS NOT NULL THEN
        PERFORM pg_notify('termaudit_cache', TG_TABLE_NAME || ':' || old_id);
    END IF;
    IF new_id IS NOT NULL AND new_id IS DISTINCT FROM old_id THEN
        PERFORM pg_notify('termaudit_cache', TG_TABLE_NAME || ':' || new_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_cache_notify
    AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION termaudit_cache_notify('id');
CREATE TRIGGER projects_cache_notify_truncate
    AFTER TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION termaudit_cache_notify('id');
CREATE TRIGGER terminal_policies_cache_notify
    AFTER INSERT OR UPDATE OR DELETE ON terminal_policies
    FOR EACH ROW EXECUTE FUNCTION termaudit_cache_notify('project_id');
CREATE TRIGGER terminal_policies_cache_notify_truncate
    AFTER TRUNCATE ON terminal_policies
    FOR EACH STATEMENT EXECUTE FUNCTION termaudit_cache_notify('project_id');

-- The sessions still open (active or dropped: about 1% of them) by user,
-- newest first. A user's dropped sessions in production, say, were found
-- by walking all of that user's sessions, or all dropped ones, to the end
-- when none matches (7.5 ms at ten million sessions); this index holds
-- only the open ones, so such a page reads a handful of entries. Small:
-- closed sessions, nearly all of them, are not in it.
CREATE INDEX sessions_project_user_open
    ON sessions (project_id, user_subject, status, opened_at DESC, id DESC)
    WHERE status <> 'closed';
