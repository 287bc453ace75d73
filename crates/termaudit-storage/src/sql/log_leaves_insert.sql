INSERT INTO audit_log_leaves
    (project_id, leaf_index, audit_event_id, xact, leaf_hash, subtrees, fingerprints)
SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[],
                     $6::bytea[], $7::bytea[])
