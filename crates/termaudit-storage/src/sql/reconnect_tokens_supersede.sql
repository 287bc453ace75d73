-- The session's earlier tokens, unredeemed, stop counting: only the one
-- issued now ($2) redeems.
UPDATE reconnect_tokens
SET superseded_at = $2
WHERE session_id = $1 AND redeemed_at IS NULL AND superseded_at IS NULL
