-- `history_words_query` (V7) again, the same function of the same inputs,
-- in PL/pgSQL (issue 26's history filters at ten million sessions).
--
-- The history list now runs each shape of its statement with a generic
-- plan, so the query's word condition is computed when the statement runs,
-- once per side: as a SQL function (an aggregate over `unnest`, never
-- inlined) every call parsed and planned its body, 0.14 ms of a 0.5 ms
-- page; PL/pgSQL keeps its compiled body for the connection's life and
-- evaluates these expressions without the executor (0.03 ms). Its
-- result is that of V7's: the pieces of lower(q) between the ASCII
-- separators of `history_words`, after the first, each cut to 64
-- characters and quoted, joined with `&`, the last one (`with_prefix`) a
-- prefix (`:*`); NULL when there is none. No index uses this function, so
-- replacing it rebuilds nothing.
CREATE OR REPLACE FUNCTION history_words_query(q text, with_prefix boolean) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    pieces text[] := regexp_split_to_array(lower(q), '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+');
    n integer := cardinality(pieces);
    terms text[] := '{}';
BEGIN
    FOR i IN 2 .. n LOOP
        IF pieces[i] <> '' AND (i < n OR with_prefix) THEN
            terms := terms || ('''' || left(pieces[i], 64) || '''' || CASE WHEN i = n THEN ':*' ELSE '' END);
        END IF;
    END LOOP;
    IF cardinality(terms) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN array_to_string(terms, ' & ')::tsquery;
END
$$;
