-- Recordings of ended sessions still to be finalized (an outbox).
--
-- The transaction that ends a session queues it here and commits at once,
-- so the session's row lock and the control event that tells the gateways
-- do not wait for a pass over a recording that may be a gigabyte long. The
-- finalization runs in a transaction of its own that removes the entry;
-- whatever a crash leaves here, the background expiry finishes.
--
-- When termaudit ended the session itself (a revoke, an expired grace
-- window), the gateway still holds the output of the last moments: the
-- recording takes chunks until `accepts_chunks_until`, or until the gateway
-- says it has sent its last one, and is finalized then.
CREATE TABLE recording_finalizations (
    session_id           uuid PRIMARY KEY REFERENCES sessions (id),
    ended_at             timestamptz NOT NULL,
    accepts_chunks_until timestamptz,
    queued_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX recording_finalizations_due
    ON recording_finalizations (coalesce(accepts_chunks_until, ended_at));
