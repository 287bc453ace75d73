-- The history benchmark's data: {sessions} sessions in project {project},
-- spread over two years, over 40 targets (half production), 500 users and
-- four modes; 0.1% active, 1% dropped (still in their grace window), the rest
-- closed; every session has a reason with its own ticket number, and one in
-- ten has a command in its activity with its own change number. Session ids
-- are UUIDv7 (the opening time's milliseconds, then random bits), as the
-- server writes them.
--
-- The sessions indexes are dropped for the load and built again afterwards
-- from their own definitions (as the migrations made them): one sorted build
-- per index is far quicker than ten million inserts into each.
SET maintenance_work_mem = '512MB';

INSERT INTO terminal_policies (project_id, retention_days_production, retention_days_non_production,
                               record_non_production, require_reason_non_production, reconnect_grace_seconds)
VALUES ('{project}', 90, 30, true, false, 86400);

INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
SELECT gen_random_uuid(), '{project}',
       CASE WHEN t % 2 = 0 THEN 'orders-db-' ELSE 'billing-api-' END || t,
       CASE WHEN t % 2 = 0 THEN 'database' ELSE 'application' END,
       CASE WHEN t < 20 THEN 'prod-eu' ELSE 'staging' END,
       CASE WHEN t < 20 THEN 'production' ELSE 'non_production' END
FROM generate_series(0, 39) t;

CREATE TEMP TABLE bench_targets AS
SELECT row_number() OVER (ORDER BY name) - 1 AS n, * FROM targets WHERE project_id = '{project}';

CREATE TEMP TABLE bench_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('sessions', 'session_activity')
  AND indexname NOT IN (SELECT conname FROM pg_constraint);
DO $$
DECLARE i record;
BEGIN
    FOR i IN SELECT indexname FROM bench_indexes LOOP
        EXECUTE format('DROP INDEX %I', i.indexname);
    END LOOP;
END $$;

INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                      environment_class, mode, reason, user_subject, user_name, recorded, status,
                      drop_cause, opened_at, last_seen_at, dropped_at, ended_at, close_reason)
SELECT (lpad(to_hex((extract(epoch FROM opened) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15))::uuid,
       '{project}', t.id, t.name, t.kind, t.environment, t.environment_class,
       (ARRAY['shell', 'database', 'runbook', 'command'])[1 + g % 4],
       'INC-' || g || ': ' || (ARRAY['fix stuck orders', 'rotate credentials', 'check replication lag',
                                     'restart workers', 'inspect failed payments'])[1 + g % 5],
       'user' || (g % 500), 'User ' || (g % 500),
       t.environment_class = 'production' OR g % 2 = 0,
       CASE WHEN g % 1000 = 0 THEN 'active' WHEN g % 100 = 1 THEN 'dropped' ELSE 'closed' END,
       CASE WHEN g % 100 = 1 THEN 'connection_lost' END,
       opened,
       CASE WHEN g % 1000 = 0 OR g % 100 = 1 THEN now() ELSE opened + interval '20 minutes' END,
       CASE WHEN g % 100 = 1 THEN now() - interval '1 minute' END,
       CASE WHEN g % 1000 <> 0 AND g % 100 <> 1 THEN opened + interval '20 minutes' END,
       CASE WHEN g % 1000 <> 0 AND g % 100 <> 1
            THEN (ARRAY['user_exit', 'user_exit', 'user_exit', 'revoked', 'grace_expired', 'idle_timeout'])[1 + g % 6] END
FROM (SELECT g, now() - interval '2 years' + (interval '2 years' / {sessions}) * g AS opened,
             (g::bigint * 7919) % 40 AS target_n
      FROM generate_series(1, {sessions}) g) s
JOIN bench_targets t ON t.n = s.target_n;

INSERT INTO session_activity (session_id, client_event_id, kind, text, occurred_at, exit_code, duration_ms)
SELECT s.id, 'a1', 'command',
       'kubectl rollout restart deploy/worker-' || (abs(hashtext(s.id::text)) % 97) || ' # CHG-' || abs(hashtext(s.id::text)),
       s.opened_at + interval '1 minute', 0, 1200
FROM sessions s
WHERE s.project_id = '{project}' AND get_byte(uuid_send(s.id), 15) < 26;

DO $$
DECLARE i record;
BEGIN
    FOR i IN SELECT indexdef FROM bench_indexes LOOP
        EXECUTE i.indexdef;
    END LOOP;
END $$;

-- No VACUUM here: this file runs as one multi-statement query, an implicit
-- transaction in which VACUUM fails (and takes the whole seed with it);
-- history.rs runs VACUUM ANALYZE on its own afterwards.
