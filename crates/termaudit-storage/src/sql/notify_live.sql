-- Tells every replica's live watchers that a recording moved (a chunk
-- stored, the recording finalized); delivered when the transaction commits.
SELECT pg_notify('termaudit_live', $1)
