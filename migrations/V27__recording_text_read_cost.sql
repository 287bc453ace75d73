-- What reading a recording_text row's codes costs, for the planner (issue
-- 22's search latency).
--
-- Since V26 a row holds the codes of up to a MiB of text: on real terminal
-- output tens of thousands of codes, 60 to 220 KB stored out of line
-- (TOAST). PostgreSQL's cost model does not count reading such a value:
-- to a query for the sessions whose recordings hold a word's codes, a scan
-- of the whole table testing `grams @>` on every row looks cheaper than
-- the GIN while the table has a few thousand rows, and it reads every
-- row's codes instead (500 recordings of a real terminal's output: 141 ms
-- for a rare word against 1.1 ms through the GIN; with sequential scans
-- off, a long query's many keys make the GIN look dearer than a walk of
-- the primary key, which reads every row's codes too).
--
-- The search across recordings adds `recording_text_codes_read(t.seq)` to
-- its test of a row's codes. It is always true; its declared cost (10 000
-- times an operator's, 25 units: about the 25 pages of TOAST a row of 200
-- KB of codes spans) is what each row the plan tests is charged. A plan
-- that tests every row pays for every row, the GIN for the rows it finds,
-- and a walk of the newest sessions (a common word) for the rows it tests
-- until its page is full: the three plans the search needs, each where it
-- is cheapest. PL/pgSQL, so the call is not inlined away with its cost; as
-- the costliest condition it runs last, on the rows whose codes matched.
CREATE FUNCTION recording_text_codes_read(seq integer) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
BEGIN
    RETURN true;
END
$$;
REVOKE EXECUTE ON FUNCTION recording_text_codes_read(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recording_text_codes_read(integer) TO termaudit_app;
