-- A signed tree head; the first one signed for a size stays.
INSERT INTO audit_log_tree_heads (project_id, tree_size, root_hash, signed_at, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (project_id, tree_size) DO NOTHING
