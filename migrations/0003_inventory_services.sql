-- Inventory, its append-only ledger, and service types with canned lines.
CREATE TABLE inventory_items (
    id             TEXT PRIMARY KEY,
    sku            TEXT NOT NULL UNIQUE,
    barcode        TEXT UNIQUE,
    name           TEXT NOT NULL,
    unit           TEXT NOT NULL DEFAULT 'pcs',
    on_hand        INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0), -- thousandths of a unit
    reorder_level  INTEGER NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    cost           INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
    price          INTEGER NOT NULL DEFAULT 0 CHECK (price >= 0),
    tax_rate_bp    INTEGER NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 100000),
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX inventory_items_name ON inventory_items(name);

CREATE TABLE inventory_transactions (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    item_id          TEXT NOT NULL REFERENCES inventory_items(id),
    delta            INTEGER NOT NULL CHECK (delta <> 0),
    type             TEXT NOT NULL CHECK (type IN ('purchase', 'job_card', 'adjustment', 'return', 'stocktake')),
    reference_type   TEXT,
    reference_id     TEXT,
    reason           TEXT NOT NULL DEFAULT '',
    balance_before   INTEGER NOT NULL CHECK (balance_before >= 0),
    balance_after    INTEGER NOT NULL CHECK (balance_after >= 0),
    actor_id         TEXT,
    at               TEXT NOT NULL,
    CHECK (balance_after = balance_before + delta)
);
CREATE INDEX inventory_transactions_item ON inventory_transactions(item_id, seq);
CREATE TRIGGER inventory_transactions_no_update BEFORE UPDATE ON inventory_transactions
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
CREATE TRIGGER inventory_transactions_no_delete BEFORE DELETE ON inventory_transactions
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;

CREATE TABLE service_types (
    id                   TEXT PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    duration_minutes     INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 1440),
    required_capability  TEXT,
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

-- The canned job: lines copied onto a job card at check-in.
CREATE TABLE service_type_lines (
    service_type_id  TEXT NOT NULL REFERENCES service_types(id),
    position         INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('labour', 'part', 'fee')),
    description      TEXT NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0), -- thousandths (hours for labour)
    item_id          TEXT REFERENCES inventory_items(id),
    unit_price       INTEGER CHECK (unit_price >= 0),       -- null: item price or labour rate
    PRIMARY KEY (service_type_id, position)
);
