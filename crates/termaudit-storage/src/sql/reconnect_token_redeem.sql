UPDATE reconnect_tokens
SET redeemed_at = $3
WHERE token_sha256 = $1 AND session_id = $2 AND redeemed_at IS NULL AND superseded_at IS NULL
  AND expires_at > $3
RETURNING user_subject
