SELECT s.id, s.project_id, s.target_id, s.target_name, s.target_kind, s.environment,
       s.environment_class, s.mode, s.reason, s.user_subject, s.user_name, s.recorded,
       s.status, s.drop_cause, s.opened_at, s.last_seen_at, s.dropped_at, s.ended_at,
       s.close_reason, s.revoked_by_subject, s.revoked_by_name, s.revoke_reason
FROM sessions s
