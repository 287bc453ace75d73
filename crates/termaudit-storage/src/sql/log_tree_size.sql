SELECT coalesce(max(leaf_index) + 1, 0) AS tree_size
FROM audit_log_leaves
WHERE project_id = $1
