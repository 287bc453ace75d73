-- A recording's text in rows of many chunks (issue 22's index size).
--
-- Since V22 a row holds the lines one chunk finished, zstd at level 1,
-- with the distinct window codes of its lines: at 64 KiB chunks the codes
-- (most of them the same from one chunk to the next) and their GIN were a
-- third of the index, and bodies of ~55 KB compress worse than larger
-- ones. The emulation workers still write a row per chunk (so a line is
-- searchable within seconds), then fold a recording's rows together once
-- they hold about 1 MiB of text (TERMAUDIT_SEARCH_TEXT_GROUP_KIB), and the
-- rest when the recording ends: one row for chunks `first_seq .. seq`,
-- keyed by its last chunk, its codes the union of theirs, its lines each
-- with the chunk that finished it (see termaudit-storage's
-- recordings/text_body.rs). `first_seq` is NULL for a row of one chunk.
ALTER TABLE recording_text
    ADD COLUMN first_seq integer CHECK (first_seq >= 0 AND first_seq <= seq);
