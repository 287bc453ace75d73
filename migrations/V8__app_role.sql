-- The role the server serves with: termaudit_app.
--
-- Migrations run as the tables' owner (TERMAUDIT_MIGRATE_DATABASE_URL); the
-- server connects as termaudit_app (DATABASE_URL). termaudit_app owns
-- nothing, so it cannot ALTER a table (no DISABLE TRIGGER), DROP or TRUNCATE
-- one; it is no superuser, so it cannot SET session_replication_role; it
-- cannot create databases or roles; and on the audit log it holds INSERT and
-- SELECT only. The append-only triggers of V1 then hold against anything the
-- server can be made to send, not only against polite statements.
--
-- Roles belong to the whole cluster, not to one database: the role is
-- created once, by whichever database's migration comes first, and found by
-- the others (tests migrate several databases at once, and advisory locks
-- are per database, so a concurrent CREATE ROLE is caught instead). A role
-- created beforehand by an administrator (with a password, say) is used as
-- it is, unless it holds more than it should.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'termaudit_app') THEN
        BEGIN
            CREATE ROLE termaudit_app LOGIN
                NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by the migration of another database
        END;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'termaudit_app'
               AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
        RAISE EXCEPTION 'the role termaudit_app exists with more than it may hold'
            USING HINT = 'ALTER ROLE termaudit_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
    END IF;
    IF pg_has_role('termaudit_app', current_user, 'USAGE') THEN
        RAISE EXCEPTION 'the role termaudit_app holds the privileges of %, which owns the tables', current_user
            USING HINT = format('REVOKE %I FROM termaudit_app', current_user);
    END IF;
END
$$;

-- Nothing but the migrations creates objects here (PostgreSQL 15 and later
-- revoke this by default; older servers grant it to everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO termaudit_app;

-- Every table the server works with, now and later: default privileges
-- cover the tables later migrations create. A later table the server must
-- not change gets its REVOKE in the migration that creates it, as the audit
-- log does here. No TRUNCATE, REFERENCES or TRIGGER anywhere. (Identity
-- columns draw from their sequences without a grant.)
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO termaudit_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO termaudit_app;

-- The audit log: appended to and read, never changed.
REVOKE UPDATE, DELETE ON audit_events FROM termaudit_app;

-- Which migrations ran: read by the readiness check.
REVOKE INSERT, UPDATE, DELETE ON refinery_schema_history FROM termaudit_app;

-- The word indexes' statistics (V7) are visible to their owner only: the
-- history search reads the most common words through this function, which
-- runs as the owner and returns nothing else.
CREATE FUNCTION history_common_words() RETURNS TABLE (index_name text, words text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT tablename::text, most_common_elems::text::text[]
    FROM pg_stats
    WHERE schemaname = 'public'
      AND tablename IN ('sessions_words', 'session_activity_words')
$$;
REVOKE EXECUTE ON FUNCTION history_common_words() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION history_common_words() TO termaudit_app;
