-- Recordings of ended sessions still to be finalized (an outbox).
--
-- The transaction that ends a session queues it here and commits at once,
-- so the session's row lock and the control event that tells the gateways
-- do not wait for a pass over a recording that may be a gigabyte long. The
-- finalization runs right after, in a transaction of its own that removes
-- the entry; whatever a crash leaves here, the background expiry finishes.
CREATE TABLE recording_finalizations (
    session_id uuid PRIMARY KEY REFERENCES sessions (id),
    ended_at   timestamptz NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
