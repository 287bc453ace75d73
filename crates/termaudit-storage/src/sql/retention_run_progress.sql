UPDATE retention_runs SET purged = purged + $2, bytes_freed = bytes_freed + $3 WHERE id = $1
