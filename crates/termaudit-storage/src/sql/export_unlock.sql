-- Releases a finished export's lock ($2, its start's id) on its connection.
SELECT pg_advisory_unlock($1, ($2::bigint % 2147483647)::int4)
