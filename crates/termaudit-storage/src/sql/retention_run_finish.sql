UPDATE retention_runs SET finished_at = $2, status = $3, errors = $4, error_detail = $5 WHERE id = $1
