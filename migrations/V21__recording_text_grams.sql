-- Search's index by chunk instead of by line (issue 22's indexing rate).
--
-- V14 indexed every line of text with a trigram GIN: a line of 1 KiB
-- holds ~700 distinct trigrams, so each line cost ~700 index entries and
-- the emulation workers wrote ~1 MiB/s of text (PostgreSQL's trigram
-- extraction and GIN inserts), a tenth of what they play. Now each chunk's
-- finished lines (and a recording's current screen, seq = 2147483647) keep
-- the set of their three-character windows' codes
-- (termaudit_domain::asciicast::text_grams, computed by the workers), one
-- row per chunk: a chunk of 4 MiB of log output has a few thousand
-- distinct codes, where its lines had millions of trigram entries. A
-- search looks up the chunks holding every code of the query (`@>`, the
-- array GIN), then tests those chunks' lines as before, so it finds
-- exactly the same lines.
--
-- Written to run again harmlessly (a test runs it again after removing a
-- recording's rows, to check the SQL below computes the workers' codes).
CREATE TABLE IF NOT EXISTS recording_text_grams (
    session_id  uuid NOT NULL REFERENCES recordings (session_id),
    project_id  uuid NOT NULL REFERENCES projects (id),
    -- The chunk whose lines these are (recording_text.seq).
    seq         integer NOT NULL CHECK (seq >= 0),
    -- The distinct codes of the windows of its lines' folded text.
    grams       integer[] NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX IF NOT EXISTS recording_text_grams_gin ON recording_text_grams USING gin (grams);
GRANT SELECT, INSERT, UPDATE, DELETE ON recording_text_grams TO termaudit_app;

-- The codes of the lines stored before V21 (text_grams in SQL: code
-- points of each window, ((c1 * 2^21 + c2) mod P * 2^21 + c3) mod P).
INSERT INTO recording_text_grams (session_id, project_id, seq, grams)
SELECT t.session_id, min(t.project_id::text)::uuid, t.seq,
       coalesce(array_agg(DISTINCT g.code ORDER BY g.code)
                    FILTER (WHERE g.code IS NOT NULL), '{}')
FROM recording_text AS t
CROSS JOIN LATERAL (SELECT coalesce(t.folded, t.line) AS x) AS f
LEFT JOIN LATERAL (
    SELECT (((ascii(substr(f.x, i, 1))::int8 * 2097152 + ascii(substr(f.x, i + 1, 1)))
             % 2147483629 * 2097152 + ascii(substr(f.x, i + 2, 1))) % 2147483629)::int4 AS code
    FROM generate_series(1, char_length(f.x) - 2) AS i
) AS g ON true
WHERE NOT EXISTS (
    SELECT 1 FROM recording_text_grams AS e WHERE e.session_id = t.session_id AND e.seq = t.seq
)
GROUP BY t.session_id, t.seq
ON CONFLICT (session_id, seq) DO NOTHING;

-- Lines are found through their chunks' codes now.
DROP INDEX IF EXISTS recording_text_trgm;
