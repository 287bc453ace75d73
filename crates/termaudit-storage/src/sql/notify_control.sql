SELECT pg_notify('termaudit_control', $1)
