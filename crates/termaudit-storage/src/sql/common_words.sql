-- The words ANALYZE found most common in each word index (V7): the history
-- search leaves a query to the trigram or time index when all its words are
-- among them. No row before the first ANALYZE. Index statistics are the
-- owner's to read: a function of the owner's hands them over (V8).
--
-- And the texts ANALYZE sampled from the columns the trigram indexes cover
-- (their most common values and histogram bounds), which tell whether a
-- pattern is common enough to walk the newest sessions for: the app's role
-- reads a table's statistics where it may read its columns.
SELECT index_name AS index, words
FROM history_common_words()
UNION ALL
SELECT tablename::text || '.' || attname::text,
       coalesce(most_common_vals::text::text[], '{}') || coalesce(histogram_bounds::text::text[], '{}')
FROM pg_stats
WHERE schemaname = 'public'
  AND (tablename, attname) IN (('sessions', 'search_text'), ('session_activity', 'text'))
