-- Cloud sync (issue 10, docs/SYNC.md): the outbox remembers the events the
-- cloud refused, and one row keeps where the device's sync stands.
-- Migrations are append-only: never edit a released file, add a new one.

-- An event the cloud refused (400, 403 wrong_identity, 422, other 4xx naming
-- it): kept, sent as a hole until the owner releases it (sync.retry_quarantined).
ALTER TABLE outbox ADD COLUMN quarantined_at TEXT;
ALTER TABLE outbox ADD COLUMN quarantine_reason TEXT;

-- What the engine reads at every batch: the events not yet at the cloud.
CREATE INDEX outbox_unsynced ON outbox (device_seq) WHERE synced_at IS NULL;
-- The records a quarantined event holds back (per-aggregate order).
CREATE INDEX outbox_quarantined ON outbox (aggregate_type, aggregate_id, device_seq)
    WHERE quarantined_at IS NOT NULL;

CREATE TABLE sync_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    -- The cloud's base URL (https, or http to loopback); NULL: not configured.
    -- The token is in the OS keyring (secret `sync_token`), never here.
    endpoint          TEXT,
    -- The highest device_seq the cloud has acknowledged as an event or a hole:
    -- the next batch starts after it. Unsynced events at or below it are holes.
    declared_through  INTEGER NOT NULL DEFAULT 0 CHECK (declared_through >= 0),
    last_attempt_at   TEXT,
    last_success_at   TEXT,
    last_error        TEXT,
    last_error_at     TEXT,
    -- Consecutive failed attempts (the backoff's exponent); 0 after a success.
    failures          INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    -- No attempt before this (backoff, Retry-After); NULL: at once.
    next_attempt_at   TEXT,
    -- 1 when the last attempt reached the cloud, 0 when it did not.
    online            INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1)),
    -- Set when the cloud answered sequence_reused: sync stops until the owner acts.
    halted_reason     TEXT,
    halted_at         TEXT
);
INSERT INTO sync_state (id) VALUES (1);
