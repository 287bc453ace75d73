-- The recordings whose text is still being extracted from chunks emulated
-- before the text existed (V17), which every search across recordings
-- counts (`pending_recordings`) and every transcript checks. A row of
-- recording_emulation is rewritten at each of its worker's progress, so
-- between vacuums the table is mostly dead row versions: at 10 000
-- recordings (issue 22's bench) its scan cost each search 12 to 19 ms for
-- a handful of live rows. This index holds only the rows being backfilled:
-- none once an upgrade's backfill is done.
CREATE INDEX recording_emulation_backfill ON recording_emulation (session_id)
    WHERE next_seq < backfill_until;
