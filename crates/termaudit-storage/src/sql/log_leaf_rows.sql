-- The leaf rows that hold the perfect subtrees a proof or a tree head needs.
SELECT leaf_index, leaf_hash, subtrees
FROM audit_log_leaves
WHERE project_id = $1 AND leaf_index = ANY($2)
