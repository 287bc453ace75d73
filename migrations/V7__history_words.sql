-- Free text by whole words, beside the trigram indexes of V2.
--
-- The history list's `q` is `ILIKE '%q%'` over a session's text or its
-- activity. pg_trgm's GIN answers that for any substring, but for a rare
-- ticket (`INC-123456:`) it still reads the posting lists of trigrams
-- nearly every row has (`inc`, `nc-`): 50 ms and more at ten million
-- sessions. When `q` holds a whole word, a word index finds the few
-- candidates at once, and `ILIKE` stays the exact test.
--
-- A word is a run of characters other than ASCII punctuation, space and
-- control characters (every non-ASCII character belongs to a word), taken
-- from `lower(text)`, the same lower-casing `ILIKE` applies on both sides;
-- it is kept to its first 64 characters (a tsvector's lexemes have a size
-- limit). The separators are ASCII on purpose: the same in every locale.
CREATE OR REPLACE FUNCTION history_words(text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(array_remove(regexp_split_to_array(
        regexp_replace(lower($1),
                       '([^\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{64})[^\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', '\1', 'g'),
        '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'), ''))
$$;

-- What every text matching `ILIKE '%' || q || '%'` (q unescaped) has among
-- its `history_words`: lower(q) occurs in lower(text), so each piece of
-- lower(q) between two separators is a whole word of the text and, with
-- `with_prefix`, the last piece after a separator is the start of one. The
-- first piece may be the end of a longer word and says nothing. NULL when
-- nothing is left (q is one word or part of one: `replication`, `nc`).
-- The storage code chooses `with_prefix` and whether to use this at all:
-- a prefix that many words share would make the index read them all.
CREATE OR REPLACE FUNCTION history_words_query(q text, with_prefix boolean) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT string_agg('''' || left(piece, 64) || '''' || CASE WHEN i = n THEN ':*' ELSE '' END, ' & ')::tsquery
    FROM (SELECT piece, i, count(*) OVER () AS n
          FROM unnest(regexp_split_to_array(lower(q), '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'))
               WITH ORDINALITY AS p (piece, i)) AS pieces
    WHERE i > 1 AND piece <> '' AND (i < n OR with_prefix)
$$;

-- The same texts the trigram indexes cover (sessions_text, session_activity_text).
--
-- On an existing database each build holds a SHARE lock on its table for as
-- long as it runs: reads go on, writes (opening a session, heartbeats,
-- activity) wait. It takes about a minute per million sessions on two
-- shared vCPUs (docs/benchmarks.md, "History list"). For a large database,
-- run this file's two functions and then both indexes with
-- CREATE INDEX CONCURRENTLY before upgrading: this migration then replaces
-- the functions with themselves and finds the indexes (IF NOT EXISTS).
CREATE INDEX IF NOT EXISTS sessions_words ON sessions USING gin (
    history_words(coalesce(reason, '') || ' ' || target_name || ' ' || user_subject || ' ' || user_name)
);
CREATE INDEX IF NOT EXISTS session_activity_words ON session_activity USING gin (history_words(text));
