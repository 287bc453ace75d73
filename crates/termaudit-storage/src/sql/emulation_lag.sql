-- How far the emulation is behind the stored chunks, over every recording:
-- those behind, their chunks not emulated, the age in seconds of the oldest
-- of those chunks, and the leases held now. The age is that of the oldest
-- chunk not emulated once yet: chunks played again for their text (V17)
-- count as behind, but their age is the upgrade's, not the ingest's lag.
SELECT count(*) FILTER (WHERE r.next_seq > e.next_seq) AS behind,
       coalesce(sum(greatest(r.next_seq - e.next_seq, 0)), 0)::int8 AS chunks,
       coalesce(extract(epoch FROM now() - min(c.stored_at)), 0)::float8 AS seconds,
       count(*) FILTER (WHERE e.lease_until >= now()) AS leased
FROM recording_emulation AS e
JOIN recordings AS r ON r.session_id = e.session_id
LEFT JOIN recording_chunks AS c ON c.session_id = e.session_id AND c.seq = greatest(e.next_seq, e.backfill_until)
