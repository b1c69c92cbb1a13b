-- Job cards, their lines, and invoices.
CREATE TABLE job_cards (
    id              TEXT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,      -- JC-2026-A000123
    branch_id       TEXT NOT NULL REFERENCES branches(id),
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    vehicle_id      TEXT NOT NULL REFERENCES vehicles(id),
    appointment_id  TEXT,
    technician_id   TEXT REFERENCES staff(id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'completed', 'cancelled')),
    odometer_in     INTEGER,
    complaint       TEXT NOT NULL DEFAULT '',
    findings        TEXT NOT NULL DEFAULT '',
    discount        INTEGER NOT NULL DEFAULT 0 CHECK (discount >= 0),
    subtotal        INTEGER NOT NULL DEFAULT 0,
    tax_total       INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    started_at      TEXT,
    completed_at    TEXT,
    cancelled_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX job_cards_status ON job_cards(status, created_at);
CREATE INDEX job_cards_technician ON job_cards(technician_id, status);
CREATE INDEX job_cards_vehicle ON job_cards(vehicle_id);

CREATE TABLE job_card_lines (
    id            TEXT PRIMARY KEY,
    job_card_id   TEXT NOT NULL REFERENCES job_cards(id),
    position      INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('labour', 'part', 'fee')),
    description   TEXT NOT NULL,
    item_id       TEXT REFERENCES inventory_items(id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),   -- thousandths (hours for labour)
    unit_price    INTEGER CHECK (unit_price >= 0),         -- minor units; null until priced
    tax_rate_bp   INTEGER NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 100000),
    created_at    TEXT NOT NULL,
    UNIQUE (job_card_id, position)
);

CREATE TABLE invoices (
    id            TEXT PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,          -- INV-2026-A000456
    job_card_id   TEXT NOT NULL UNIQUE REFERENCES job_cards(id),
    customer_id   TEXT NOT NULL REFERENCES customers(id),
    vehicle_id    TEXT NOT NULL REFERENCES vehicles(id),
    currency      TEXT NOT NULL,
    lines         TEXT NOT NULL,                 -- JSON: the lines as billed
    subtotal      INTEGER NOT NULL,
    discount      INTEGER NOT NULL,
    tax_summary   TEXT NOT NULL,                 -- JSON: [{rate_bp, net, tax}]
    tax_total     INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    amount_paid   INTEGER NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    balance_due   INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'partially_paid', 'paid', 'void')),
    issued_at     TEXT NOT NULL,
    due_date      TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    CHECK (balance_due = total - amount_paid)
);
CREATE INDEX invoices_status ON invoices(status, issued_at);
CREATE INDEX invoices_customer ON invoices(customer_id);
