-- The retention benchmark's data: {recordings} recorded, closed sessions in
-- project {project} with finalized recordings (two 1 KiB chunks, a snapshot
-- and a marker each), nine in ten expired under the default policy
-- (production ended 400 days ago, non-production 100 days ago), one in ten
-- not (ended 10 days ago), and one in a thousand expired but under a legal
-- hold.
INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
VALUES (gen_random_uuid(), '{project}', 'orders-db', 'database', 'prod-eu', 'production'),
       (gen_random_uuid(), '{project}', 'billing-api', 'application', 'staging', 'non_production');

CREATE TEMP TABLE bench_sessions AS
SELECT gen_random_uuid() AS id, g,
       CASE WHEN g % 2 = 0 THEN 'production' ELSE 'non_production' END AS class,
       now() - CASE WHEN g % 10 = 0 THEN interval '10 days'
                    WHEN g % 2 = 0 THEN interval '400 days'
                    ELSE interval '100 days' END - g * interval '1 second' AS ended_at
FROM generate_series(1, {recordings}) g;

INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                      environment_class, mode, reason, user_subject, user_name, recorded, status,
                      opened_at, last_seen_at, ended_at, close_reason)
SELECT b.id, '{project}', t.id, t.name, t.kind, t.environment, t.environment_class, 'shell',
       'INC-' || b.g, 'user' || (b.g % 50), 'User ' || (b.g % 50), true, 'closed',
       b.ended_at - interval '20 minutes', b.ended_at, b.ended_at, 'user_exit'
FROM bench_sessions b JOIN targets t ON t.project_id = '{project}' AND t.environment_class = b.class;

INSERT INTO recordings (session_id, header, source_version, started_at, next_seq, chunk_events,
                        chunk_bytes, last_time_us, finalized_at, size_bytes, event_count,
                        duration_us, sha256, trailer_offset)
SELECT b.id, '{"version":2,"width":80,"height":24}', 2, b.ended_at - interval '20 minutes', 2, 20,
       2048, 1200000000, b.ended_at, 2100, 20, 1200000000, sha256(b.id::text::bytea), 2100
FROM bench_sessions b;

INSERT INTO recording_chunks (session_id, seq, first_time_us, last_time_us, events, data_bytes,
                              data, upload_sha256, file_offset)
SELECT b.id, seq, seq * 600000000, seq * 600000000 + 599000000, 10, 1024,
       convert_to(repeat(md5(b.id::text || seq), 32), 'UTF8'), sha256(convert_to(b.id::text || seq, 'UTF8')),
       40 + seq * 1024
FROM bench_sessions b, generate_series(0, 1) seq;

INSERT INTO recording_snapshots (session_id, after_seq, at_time_us, cols, rows, state)
SELECT b.id, 0, 599000000, 80, 24, convert_to(md5(b.id::text), 'UTF8') FROM bench_sessions b;

INSERT INTO recording_markers (session_id, seq, ordinal, time_us, label)
SELECT b.id, 0, 0, 1000000, 'step 1' FROM bench_sessions b;

INSERT INTO legal_holds (session_id, project_id, reason, placed_at, placed_by_subject, placed_by_name)
SELECT b.id, '{project}', 'litigation', now(), 'legal', 'Legal' FROM bench_sessions b WHERE b.g % 1000 = 1;

ANALYZE;
