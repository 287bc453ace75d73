-- The benchmark's data: {sessions} closed sessions in project {project}, each
-- with its session.opened entry and eight database statements.
INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
VALUES (gen_random_uuid(), '{project}', 'orders-db', 'database', 'prod-eu', 'production');

CREATE TEMP TABLE bench_sessions AS
SELECT gen_random_uuid() AS id, g,
       timestamptz '2026-01-01' + g * interval '1 second' AS opened_at
FROM generate_series(1, {sessions}) g;

INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                      environment_class, mode, reason, user_subject, user_name, recorded, status,
                      opened_at, last_seen_at, ended_at, close_reason)
SELECT b.id, '{project}', t.id, t.name, 'database', 'prod-eu', 'production', 'database',
       'INC-' || b.g || ': fix stuck orders, see "runbook", step 3', 'user' || (b.g % 50),
       'User ' || (b.g % 50), true, 'closed', b.opened_at, b.opened_at + interval '0.9 second',
       b.opened_at + interval '0.9 second', 'user_exit'
FROM bench_sessions b, targets t WHERE t.project_id = '{project}';

INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject, actor_name, session_id, details)
SELECT '{project}', b.opened_at, 'session.opened', 'user' || (b.g % 50), 'User ' || (b.g % 50), b.id,
       jsonb_build_object('target', 'orders-db', 'environment', 'prod-eu', 'mode', 'database', 'recorded', true)
FROM bench_sessions b;

INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject, actor_name, session_id, details)
SELECT '{project}', b.opened_at + s * interval '0.1 second', 'database.statement',
       'user' || (b.g % 50), 'User ' || (b.g % 50), b.id,
       jsonb_build_object('statement', 'UPDATE orders SET state = ''paid'' WHERE id = ' || (b.g * 10 + s),
                          'database', 'orders', 'rows_affected', 1, 'duration_ms', s, 'error', NULL)
FROM bench_sessions b, generate_series(1, 8) s;

ANALYZE sessions;
ANALYZE audit_events;
