UPDATE sessions
SET status = $2, drop_cause = $3, last_seen_at = $4, dropped_at = $5, ended_at = $6,
    close_reason = $7, revoked_by_subject = $8, revoked_by_name = $9, revoke_reason = $10
WHERE id = $1
