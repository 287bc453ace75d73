SELECT key_id, public_key, first_used_at FROM signing_keys ORDER BY first_used_at, key_id
