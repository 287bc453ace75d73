-- A session's searchable text, lower-cased once when it is written.
--
-- The history list's `q` is `ILIKE '%q%'` over the concatenation of a
-- session's reason, target and user. A common word's page walks the time
-- index newest first and tests a few hundred sessions, and each test
-- concatenated four columns and lower-cased the result (ILIKE in a UTF-8
-- database is `lower(text) LIKE lower(pattern)`): two thirds of that
-- page's execution. This column holds `lower(...)` of the same text, so
-- the test is a plain `LIKE lower(pattern)`, the same match as before; the
-- trigram index moves to it (pg_trgm answers LIKE as it answered ILIKE).
-- The word and digit indexes of V7 and V23 stay on the expression: they
-- lower-case on their own.
--
-- On an existing database, adding a stored column rewrites the sessions
-- table under an ACCESS EXCLUSIVE lock (reads wait too), then the index is
-- built under a SHARE lock: 75 s for a million sessions on two shared
-- vCPUs (docs/benchmarks.md, "Issue 26 (V25)"). Every statement here is
-- idempotent, so a large database can run this file by hand first, at a
-- time of its choosing (the index with CREATE INDEX CONCURRENTLY), and the
-- upgrade then finds it done.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS search_text text GENERATED ALWAYS AS (
    lower(coalesce(reason, '') || ' ' || target_name || ' ' || user_subject || ' ' || user_name)
) STORED;
CREATE INDEX IF NOT EXISTS sessions_search_text ON sessions USING gin (search_text gin_trgm_ops);
DROP INDEX IF EXISTS sessions_text;
