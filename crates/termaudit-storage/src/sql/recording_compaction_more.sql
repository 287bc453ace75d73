-- Whether recording $1 has chunks after seq $2 whose bodies are still in
-- PostgreSQL.
SELECT EXISTS (
    SELECT 1 FROM recording_chunks WHERE session_id = $1 AND data IS NOT NULL AND seq > $2
)
