-- Projects whose log has grown past their latest signed tree head.
SELECT p.id AS project_id, p.slug, l.tree_size, h.tree_size AS signed_size, h.signed_at
FROM projects p
CROSS JOIN LATERAL (SELECT coalesce(max(leaf_index) + 1, 0) AS tree_size
                    FROM audit_log_leaves WHERE project_id = p.id) l
LEFT JOIN LATERAL (SELECT tree_size, signed_at FROM audit_log_tree_heads
                   WHERE project_id = p.id ORDER BY tree_size DESC LIMIT 1) h ON true
WHERE l.tree_size > coalesce(h.tree_size, 0)
