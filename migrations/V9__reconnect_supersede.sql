-- A reconnect token is superseded when a newer one is issued for its
-- session: only the newest redeems. The row stays, with when it stopped
-- counting; issuing is audited (`session.reconnect_granted`).
ALTER TABLE reconnect_tokens ADD COLUMN superseded_at timestamptz;
