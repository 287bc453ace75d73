-- Free text by digits, beside the word indexes of V7.
--
-- A bare number (`q=123456`: no separator) may sit inside a longer word
-- (`INC123456`, `v1234567`), so the word index cannot answer it, and the
-- trigram index reads long posting lists: there are only a thousand digit
-- trigrams, each in about 0.5% of the texts. But wherever lower(q) occurs
-- in lower(text), each run of ASCII digits in q lies inside a run of
-- digits of the text (lower maps no character to or from an ASCII digit),
-- so it starts one of that run's suffixes. This index keeps, for every run
-- of 4 digits or more, each of its suffixes of 4 digits or more (cut to
-- their first 16), and a run of q is then a prefix search of one lexeme
-- (`'123456':*`): the few texts that hold it, at once. `ILIKE` stays the
-- exact test.
--
-- A text with more than 1024 such suffixes (a 1 000-digit number, or
-- hundreds of long ones) keeps the single lexeme `~` instead, which every
-- digit query also matches: its tsvector stays small (activity text may be
-- 64 KiB), and such a text is always a candidate, never missed.
CREATE OR REPLACE FUNCTION history_digits(text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN count(*) > 1024 THEN array_to_tsvector('{~}')
                ELSE array_to_tsvector(coalesce(array_agg(left(substr(m.run[1], i), 16)), '{}'))
           END
    FROM regexp_matches($1, '[0-9]{4,}', 'g') AS m (run),
         generate_series(1, length(m.run[1]) - 3) AS i
$$;

-- The same texts the trigram and word indexes cover.
--
-- On an existing database each build holds a SHARE lock on its table while
-- it runs (reads go on, writes wait); see docs/benchmarks.md, "History
-- list", for its time and size, and V7 for building such indexes with
-- CREATE INDEX CONCURRENTLY before upgrading (IF NOT EXISTS finds them).
CREATE INDEX IF NOT EXISTS sessions_digits ON sessions USING gin (
    history_digits(coalesce(reason, '') || ' ' || target_name || ' ' || user_subject || ' ' || user_name)
);
CREATE INDEX IF NOT EXISTS session_activity_digits ON session_activity USING gin (history_digits(text));

-- The most common lexemes of the digit indexes too: a run of q that starts
-- a common suffix (`2026`) is left to the trigram or time index.
CREATE OR REPLACE FUNCTION history_common_words() RETURNS TABLE (index_name text, words text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT tablename::text, most_common_elems::text::text[]
    FROM pg_stats
    WHERE schemaname = 'public'
      AND tablename IN ('sessions_words', 'session_activity_words',
                        'sessions_digits', 'session_activity_digits')
$$;
