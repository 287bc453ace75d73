-- The codes of lines showing random text apart (issue 22's search latency).
--
-- A line showing a run of random-looking characters (a key, a token,
-- base64: termaudit_domain::asciicast::is_dense) is indexed by a mark and
-- the minimizers of its four-character windows, negative codes, instead of
-- its three-character windows' codes, which random text nearly all holds
-- (see termaudit_domain's asciicast/codes.rs). Those codes go to a column
-- of their own, with its own GIN: in `grams` they made each row showing a
-- key hold tens of thousands of codes more, which every test of a row's
-- `grams` (a common word's walk of the newest sessions, the lines' reads)
-- reads and compares whole. A row is read for a query when `grams` holds
-- the query's three-character codes or `dense` its dense codes. Rows
-- stored before keep every line's three-character codes in `grams`, which
-- stays right; their `dense` is empty.
ALTER TABLE recording_text ADD COLUMN dense int4[] NOT NULL DEFAULT '{}';
CREATE INDEX recording_text_dense_gin ON recording_text USING gin (dense);
