INSERT INTO signing_keys (key_id, public_key) VALUES ($1, $2)
ON CONFLICT (key_id) DO NOTHING
