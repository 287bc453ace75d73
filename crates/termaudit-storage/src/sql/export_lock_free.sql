-- Takes a running export's lock ($2, its start's id) until this transaction
-- ends, if it is free: then the connection that held it is gone.
SELECT pg_try_advisory_xact_lock($1, ($2::bigint % 2147483647)::int4)
