INSERT INTO reconnect_tokens (token_sha256, session_id, user_subject, expires_at)
VALUES ($1, $2, $3, $4)
