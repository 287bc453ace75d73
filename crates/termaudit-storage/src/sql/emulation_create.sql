-- A recording's emulation starts with its first chunk, unleased, at chunk 0.
INSERT INTO recording_emulation (session_id)
VALUES ($1)
ON CONFLICT (session_id) DO NOTHING
