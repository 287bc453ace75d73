SELECT project_id, tree_size, root_hash, signed_at, key_id, signature
FROM audit_log_tree_heads
WHERE project_id = $1 AND tree_size = $2
