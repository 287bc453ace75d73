-- The words ANALYZE found most common in each word index (V7): the history
-- search leaves a query to the trigram or time index when all its words are
-- among them. No row before the first ANALYZE.
SELECT tablename AS index, most_common_elems::text::text[] AS words
FROM pg_stats
WHERE schemaname = current_schema()
  AND tablename IN ('sessions_words', 'session_activity_words')
