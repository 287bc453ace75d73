-- Search what the terminals showed, across every recording.
--
-- The emulation workers (V12) extract the text a recording's screen showed
-- (termaudit_domain::asciicast::transcript): a line is written here once it
-- is finished (scrolled off, cleared, left behind on the alternate screen),
-- in the same statement that records the worker's progress, so it is
-- written exactly once per chunk whatever the retries. The screen of a
-- recording still being emulated is here too, provisionally (seq =
-- 2147483647, so it sorts last in the primary key's order), replaced at
-- each progress; when the emulation completes it becomes the recording's
-- last lines (seq = the number of chunks).
CREATE TABLE recording_text (
    session_id  uuid NOT NULL REFERENCES recordings (session_id),
    -- The session's project, so a search never leaves it before a join.
    project_id  uuid NOT NULL REFERENCES projects (id),
    -- The chunk whose playing finished the line, and its rank among the
    -- lines that chunk finished; 2147483647 for the current screen.
    seq         integer NOT NULL CHECK (seq >= 0),
    n           integer NOT NULL CHECK (n >= 0),
    -- The time in the recording (µs) when a player last shows the line.
    time_us     bigint NOT NULL CHECK (time_us >= 0),
    line        text NOT NULL,
    -- The line case-folded (one character for one, see fold_case), when
    -- that differs from the line: searches compare against
    -- coalesce(folded, line), in Rust and in SQL alike.
    folded      text,
    PRIMARY KEY (session_id, seq, n)
);

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX recording_text_trgm ON recording_text
    USING gin (coalesce(folded, line) gin_trgm_ops);

-- The app role reads and writes it (default privileges of V8 cover it;
-- stated here for the reader).
GRANT SELECT, INSERT, UPDATE, DELETE ON recording_text TO termaudit_app;

-- Where the extraction stands, beside the terminal: the start of a line
-- that wraps over rows already scrolled off, and the last event's time.
ALTER TABLE recording_emulation
    ADD COLUMN text_pending text NOT NULL DEFAULT '',
    ADD COLUMN text_time_us bigint;
