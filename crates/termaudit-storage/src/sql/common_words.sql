-- The words ANALYZE found most common in each word index (V7): the history
-- search leaves a query to the trigram or time index when all its words are
-- among them. No row before the first ANALYZE. Index statistics are the
-- owner's to read: a function of the owner's hands them over (V8).
SELECT index_name AS index, words
FROM history_common_words()
