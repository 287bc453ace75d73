SELECT header, source_version, started_at, next_seq, chunk_events, chunk_bytes, last_time_us,
       finalized_at, size_bytes, event_count, duration_us, sha256, trailer_offset,
       purged_at, purge_reason
FROM recordings
WHERE session_id = $1
