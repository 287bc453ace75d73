-- The history export: a project's sessions and the audit events of those
-- sessions, as one stream ordered by time. Sessions come at their opening;
-- an event is a database event when it is a `database.statement`, otherwise
-- a terminal event. Within the same instant a session comes before its
-- events. `$1` is the project; the markers are filled with conditions:
-- {sessions} on `s` (both halves), {session_rows} and {event_rows} per half.
SELECT rank, at, event_id, event_type, actor_subject, details, session_id, target_name,
       target_kind, environment, environment_class, mode, reason, user_subject, user_name,
       recorded, status, ended_at, close_reason
FROM (
    SELECT 0 AS rank, s.opened_at AS at, NULL::bigint AS event_id, NULL::text AS event_type,
           NULL::text AS actor_subject,
           jsonb_strip_nulls(jsonb_build_object(
               'drop_cause', s.drop_cause,
               'revoked_by', s.revoked_by_subject,
               'revoked_by_name', s.revoked_by_name,
               'revoke_reason', s.revoke_reason)) AS details,
           s.id AS session_id, s.target_name, s.target_kind, s.environment, s.environment_class,
           s.mode, s.reason, s.user_subject, s.user_name, s.recorded, s.status, s.ended_at,
           s.close_reason
    FROM sessions s
    WHERE s.project_id = $1 AND {sessions} AND {session_rows}
    UNION ALL
    SELECT CASE WHEN e.event_type = 'database.statement' THEN 2 ELSE 1 END, e.occurred_at, e.id,
           e.event_type, e.actor_subject, e.details,
           s.id, s.target_name, s.target_kind, s.environment, s.environment_class,
           s.mode, s.reason, s.user_subject, s.user_name, s.recorded, s.status, s.ended_at,
           s.close_reason
    FROM audit_events e
    JOIN sessions s ON s.id = e.session_id
    WHERE e.project_id = $1 AND s.project_id = $1 AND {sessions} AND {event_rows}
) records
ORDER BY at, rank, session_id, event_id
