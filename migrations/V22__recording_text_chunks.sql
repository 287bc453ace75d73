-- A recording's text as a row per chunk, compressed (issue 22's index size).
--
-- V14 kept a row per line: ~30 bytes of tuple header, two uuids and three
-- integers for each line of ~80 characters, uncompressed, beside a folded
-- copy of most lines and a primary key entry per line, and V21 added a
-- row per chunk of window codes: the search's tables were many times the
-- size of the compressed recordings. Now a chunk's finished lines (and a
-- recording's current screen, seq = 2147483647, replaced at each progress
-- of its emulation) are one row: its window codes (as V21's, the GIN
-- finds the chunks that may hold a query) and its lines in one value
-- (`body`: see termaudit-storage's recordings/text_body.rs), which the
-- workers compress with zstd. A search tests the candidate chunks' lines
-- in Rust, folding them as it goes (no folded copy is kept), which is
-- what `ScreenQuery::positions` always defined a match as.
CREATE TABLE recording_text_chunks (
    session_id  uuid NOT NULL REFERENCES recordings (session_id),
    -- The session's project, so a search never leaves it before a join.
    project_id  uuid NOT NULL REFERENCES projects (id),
    -- The chunk whose playing finished the lines; 2147483647 for the
    -- current screen of a recording still emulated.
    seq         integer NOT NULL CHECK (seq >= 0),
    -- The distinct codes of the windows of its lines' folded text
    -- (termaudit_domain::asciicast::text_grams).
    grams       integer[] NOT NULL,
    -- Its lines with their times. The rows moved below are plain text,
    -- which PostgreSQL compresses (lz4); the workers' are zstd already.
    body        bytea COMPRESSION lz4 NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- The lines stored before V22, a chunk's lines in one body (form 0:
-- plain), with the codes V21 keeps for every chunk with lines.
INSERT INTO recording_text_chunks (session_id, project_id, seq, grams, body)
SELECT l.session_id, l.project_id, l.seq, g.grams, l.body
FROM (
    SELECT d.session_id, min(d.project_id::text)::uuid AS project_id, d.seq,
           '\x00'::bytea || convert_to(
               string_agg(d.delta::text || E'\t' || d.line || E'\n', '' ORDER BY d.n), 'UTF8'
           ) AS body
    FROM (
        SELECT t.session_id, t.project_id, t.seq, t.n, t.line,
               t.time_us - coalesce(lag(t.time_us) OVER (
                   PARTITION BY t.session_id, t.seq ORDER BY t.n
               ), 0) AS delta
        FROM recording_text AS t
    ) AS d
    GROUP BY d.session_id, d.seq
) AS l
JOIN recording_text_grams AS g ON g.session_id = l.session_id AND g.seq = l.seq;

DROP TABLE recording_text;
DROP TABLE recording_text_grams;
ALTER TABLE recording_text_chunks RENAME TO recording_text;
ALTER INDEX recording_text_chunks_pkey RENAME TO recording_text_pkey;
CREATE INDEX recording_text_grams_gin ON recording_text USING gin (grams);

GRANT SELECT, INSERT, UPDATE, DELETE ON recording_text TO termaudit_app;

-- Statistics for the new table now, not at autovacuum's next pass: without
-- them the planner reads every candidate chunk of a common word's codes
-- before the page's sessions (4x slower in the bench).
ANALYZE recording_text;
