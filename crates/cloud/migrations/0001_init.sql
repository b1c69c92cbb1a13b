-- pitlane-cloud's schema (docs/SYNC.md). Append-only: a change is a new file.

-- A registered device. Its token is stored only as SHA-256 (hex); `last_seq` is the highest
-- number of its sequence covered by stored events, duplicates and holes.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    branch_id       TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at      TIMESTAMPTZ,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    last_contact_at TIMESTAMPTZ
);
CREATE INDEX devices_tenant ON devices (tenant_id);

-- Every stored event, once. `cloud_seq` is gapless and follows commit order: it is taken from
-- `cloud_counter` (below), never from a PostgreSQL sequence.
CREATE TABLE events (
    cloud_seq      BIGINT PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    device_id      TEXT NOT NULL REFERENCES devices (id),
    device_seq     BIGINT NOT NULL,
    type           TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    tenant_id      TEXT NOT NULL,
    branch_id      TEXT NOT NULL,
    actor_id       TEXT,
    payload        JSONB NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (device_id, device_seq)
);
CREATE INDEX events_tenant_cloud_seq ON events (tenant_id, cloud_seq);

-- Numbers a device declared it holds back (quarantined or held events); the event fills its
-- hole later, which deletes the row.
CREATE TABLE device_holes (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    device_seq  BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    declared_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, device_seq)
);

-- The one row that hands out cloud_seq. A writer adds its count and keeps the row locked until
-- it commits, so number n + 1 never commits before n.
CREATE TABLE cloud_counter (
    id   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    last BIGINT NOT NULL
);
INSERT INTO cloud_counter (id, last) VALUES (TRUE, 0);
