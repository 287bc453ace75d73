-- Each log (or project $1's) and its last leaf index, by project: a skip
-- scan of the leaves' primary key, one probe per project.
WITH RECURSIVE logs AS (
    (SELECT project_id FROM audit_log_leaves
     WHERE project_id >= coalesce($1::uuid, '00000000-0000-0000-0000-000000000000')
     ORDER BY project_id LIMIT 1)
    UNION ALL
    SELECT (SELECT l.project_id FROM audit_log_leaves l
            WHERE l.project_id > logs.project_id ORDER BY l.project_id LIMIT 1)
    FROM logs
    WHERE logs.project_id IS NOT NULL AND $1::uuid IS NULL
)
SELECT logs.project_id,
       (SELECT max(l.leaf_index) FROM audit_log_leaves l WHERE l.project_id = logs.project_id)
           AS last_leaf
FROM logs
WHERE logs.project_id IS NOT NULL AND ($1::uuid IS NULL OR logs.project_id = $1)
ORDER BY logs.project_id
