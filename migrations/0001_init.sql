-- Pitlane schema, part 1: the device, its branch, staff, the audit chain,
-- the outbox, number series and orchestration runs.
-- Migrations are append-only: never edit a released file, add a new one.
PRAGMA application_id = 1347701838; -- 'PTLN'

CREATE TABLE device (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    branch_id       TEXT NOT NULL,
    series_letter   TEXT NOT NULL CHECK (length(series_letter) = 1),
    next_event_seq  INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL
);

CREATE TABLE branches (
    id                  TEXT PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    address             TEXT NOT NULL DEFAULT '',
    phone               TEXT NOT NULL DEFAULT '',
    email               TEXT NOT NULL DEFAULT '',
    tax_number          TEXT NOT NULL DEFAULT '',
    country             TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    currency            TEXT NOT NULL,
    default_tax_rate_bp INTEGER NOT NULL CHECK (default_tax_rate_bp BETWEEN 0 AND 100000),
    payment_terms_days  INTEGER NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
    labour_rate         INTEGER NOT NULL DEFAULT 0 CHECK (labour_rate >= 0),
    invoice_footer      TEXT NOT NULL DEFAULT '',
    paper_size          TEXT NOT NULL DEFAULT 'A4' CHECK (paper_size IN ('A4', 'Letter')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- Opening hours in the branch's local time; several intervals a day allowed.
CREATE TABLE opening_hours (
    branch_id   TEXT NOT NULL REFERENCES branches(id),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 = Monday
    opens       TEXT NOT NULL,  -- HH:MM
    closes      TEXT NOT NULL,  -- HH:MM
    PRIMARY KEY (branch_id, weekday, opens)
);

CREATE TABLE closures (
    branch_id   TEXT NOT NULL REFERENCES branches(id),
    date        TEXT NOT NULL,  -- YYYY-MM-DD, branch local
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (branch_id, date)
);

CREATE TABLE bays (
    id            TEXT PRIMARY KEY,
    branch_id     TEXT NOT NULL REFERENCES branches(id),
    name          TEXT NOT NULL,
    capabilities  TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (branch_id, name)
);

CREATE TABLE staff (
    id                TEXT PRIMARY KEY,
    branch_id         TEXT NOT NULL REFERENCES branches(id),
    code              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('front_desk', 'technician', 'manager', 'owner')),
    pin_hash          TEXT NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    hourly_rate       INTEGER NOT NULL DEFAULT 0 CHECK (hourly_rate >= 0),
    failed_pin_count  INTEGER NOT NULL DEFAULT 0,
    locked_until      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- Append-only, hash-chained: each row's hash covers its fields and the
-- previous row's hash, so an edited or removed row breaks the chain.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    at           TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT,
    details      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Domain events, written in the transaction of the work they describe.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    device_seq      INTEGER NOT NULL,
    type            TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    aggregate_type  TEXT NOT NULL,
    aggregate_id    TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    branch_id       TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    actor_id        TEXT,
    payload         TEXT NOT NULL,
    synced_at       TEXT,
    UNIQUE (device_id, device_seq)
);

-- Gapless human-facing numbers: one row per series, taken inside the
-- transaction that creates the record.
CREATE TABLE number_series (
    series  TEXT PRIMARY KEY,   -- e.g. 'INV-2026-A'
    last    INTEGER NOT NULL
);

CREATE TABLE orchestration_runs (
    id            TEXT PRIMARY KEY,
    operation     TEXT NOT NULL,
    subject_id    TEXT,
    actor_id      TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    failed_step   TEXT,
    error_code    TEXT,
    attempts      INTEGER NOT NULL DEFAULT 1,
    steps         TEXT NOT NULL  -- JSON array of {name, outcome, duration_us}
);
CREATE INDEX orchestration_runs_subject ON orchestration_runs(subject_id, started_at);
