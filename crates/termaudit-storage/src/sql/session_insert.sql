INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                      environment_class, mode, reason, user_subject, user_name, recorded,
                      status, opened_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $13)
RETURNING id, project_id, target_id, target_name, target_kind, environment, environment_class,
          mode, reason, user_subject, user_name, recorded, status, drop_cause, opened_at,
          last_seen_at, dropped_at, ended_at, close_reason, revoked_by_subject, revoked_by_name,
          revoke_reason
