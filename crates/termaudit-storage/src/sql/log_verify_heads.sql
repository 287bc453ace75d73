SELECT h.project_id, h.tree_size, h.root_hash, h.signed_at, h.key_id, h.signature
FROM audit_log_tree_heads h
WHERE $1::uuid IS NULL OR h.project_id = $1
ORDER BY h.project_id, h.tree_size
