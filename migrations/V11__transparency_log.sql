-- The audit log as a transparency log: per project, a Merkle tree (RFC 9162)
-- over the audit entries, with signed tree heads, so anyone holding a
-- public key can check that an entry is in the log and that the log was
-- only ever appended to. Nothing here is on the path of the transactions
-- that write audit entries: one sequencer (an advisory lock, one replica at
-- a time) appends committed entries as leaves, seconds behind.

-- The transaction that wrote each entry (its xid8 as a number). The
-- sequencer takes entries in (xact, id) order, and only those whose
-- transaction is older than every transaction still running, so an entry
-- that commits late can never land behind one already sequenced. Entries
-- written before this migration get 0: the sequencer takes them first, by
-- id. (The server's role cannot write this column: see the grants below.)
ALTER TABLE audit_events ADD COLUMN xact bigint NOT NULL DEFAULT 0;
ALTER TABLE audit_events ALTER COLUMN xact SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX audit_events_sequence ON audit_events (xact, id);

-- Rows of the tables below are never changed or removed either.
CREATE FUNCTION transparency_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The keys that signed tree heads and manifests: the server registers its
-- key when it starts; a rotated key stays, so what it signed still verifies.
CREATE TABLE signing_keys (
    key_id        text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    algorithm     text NOT NULL DEFAULT 'ed25519' CHECK (algorithm = 'ed25519'),
    public_key    bytea NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    first_used_at timestamptz NOT NULL DEFAULT now()
);

-- One row per leaf of a project's tree, in the order the sequencer
-- appended them. Besides the leaf's hash it keeps the roots of the perfect
-- subtrees the leaf completes (leaf i completes as many as i has trailing
-- one bits: level 1 upwards, 32 bytes each), so any proof over millions of
-- leaves reads a few dozen rows; and 8-byte fingerprints of each field of
-- the entry, so `termaudit verify db` can say which field of a changed
-- entry differs.
CREATE TABLE audit_log_leaves (
    project_id     uuid NOT NULL,
    leaf_index     bigint NOT NULL CHECK (leaf_index >= 0),
    audit_event_id bigint NOT NULL UNIQUE,
    xact           bigint NOT NULL,
    leaf_hash      bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
    subtrees       bytea NOT NULL CHECK (octet_length(subtrees) % 32 = 0),
    fingerprints   bytea NOT NULL CHECK (octet_length(fingerprints) = 64),
    sequenced_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, leaf_index)
);
-- Where the sequencer is: the last (xact, id) it appended.
CREATE INDEX audit_log_leaves_sequence ON audit_log_leaves (xact, audit_event_id);

-- Signed tree heads: a project's log had tree_size leaves with this root.
CREATE TABLE audit_log_tree_heads (
    project_id uuid NOT NULL,
    tree_size  bigint NOT NULL CHECK (tree_size > 0),
    root_hash  bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    signed_at  timestamptz NOT NULL,
    key_id     text NOT NULL REFERENCES signing_keys (key_id),
    signature  bytea NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (project_id, tree_size)
);

-- Signed manifests of finalized recordings, made when the sequencer appends
-- the recording's `recording.finalized` entry (whose leaf index they name).
CREATE TABLE recording_manifests (
    session_id     uuid PRIMARY KEY,
    project_id     uuid NOT NULL,
    project_slug   text NOT NULL,
    sha256         bytea NOT NULL CHECK (octet_length(sha256) = 32),
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    event_count    bigint NOT NULL CHECK (event_count >= 0),
    first_event_at timestamptz,
    last_event_at  timestamptz,
    audit_event_id bigint NOT NULL UNIQUE,
    log_index      bigint NOT NULL,
    key_id         text NOT NULL REFERENCES signing_keys (key_id),
    signature      bytea NOT NULL CHECK (octet_length(signature) = 64),
    signed_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER signing_keys_append_only BEFORE UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER audit_log_leaves_append_only BEFORE UPDATE OR DELETE ON audit_log_leaves
    FOR EACH ROW EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER audit_log_tree_heads_append_only BEFORE UPDATE OR DELETE ON audit_log_tree_heads
    FOR EACH ROW EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER recording_manifests_append_only BEFORE UPDATE OR DELETE ON recording_manifests
    FOR EACH ROW EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER audit_log_leaves_no_truncate BEFORE TRUNCATE ON audit_log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER audit_log_tree_heads_no_truncate BEFORE TRUNCATE ON audit_log_tree_heads
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER recording_manifests_no_truncate BEFORE TRUNCATE ON recording_manifests
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_is_append_only();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_is_append_only();

-- The sequencer's progress, for its lag: when it last found nothing left
-- to append, and when it last ran. One row; not evidence.
CREATE TABLE audit_log_sequencer (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    caught_up_at timestamptz NOT NULL,
    ran_at       timestamptz NOT NULL
);

-- The server's role (V8) appends to the log and reads it; it never changes
-- or removes what it appended.
REVOKE UPDATE, DELETE ON signing_keys, audit_log_leaves, audit_log_tree_heads,
    recording_manifests FROM termaudit_app;
-- Nor can it choose an audit entry's place in the sequence: it may insert
-- every column of an entry but `xact` (and `id`), which take their defaults.
REVOKE INSERT ON audit_events FROM termaudit_app;
GRANT INSERT (project_id, occurred_at, event_type, actor_subject, actor_name, session_id, details)
    ON audit_events TO termaudit_app;
