-- Customers, their vehicles, the search terms behind quick search, and the
-- vehicle's service history.
CREATE TABLE customers (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    email              TEXT,
    email_key          TEXT UNIQUE,   -- lower-cased email
    phone              TEXT UNIQUE,   -- E.164
    address            TEXT NOT NULL DEFAULT '',
    notes              TEXT NOT NULL DEFAULT '',
    marketing_consent  INTEGER NOT NULL DEFAULT 0 CHECK (marketing_consent IN (0, 1)),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE vehicles (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id),
    license_plate  TEXT NOT NULL,          -- as entered
    plate_key      TEXT NOT NULL UNIQUE,   -- upper-case, letters and digits only
    vin            TEXT UNIQUE,
    make           TEXT NOT NULL,
    model          TEXT NOT NULL,
    year           INTEGER,
    odometer       INTEGER,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX vehicles_customer ON vehicles(customer_id);

-- Quick-search terms: folded words of the name, the email, the phone digits
-- (international and national), plates and VINs. A prefix search is one
-- index range scan on `term`, and each row carries the customer's result
-- card (JSON: id, name, email, phone, vehicles), so the scan alone answers.
-- vehicle_id is '' for the customer's own terms (name, email, phone).
CREATE TABLE search_terms (
    term         TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    vehicle_id   TEXT NOT NULL DEFAULT '',
    card         TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (term, customer_id, vehicle_id)
) WITHOUT ROWID;
CREATE INDEX search_terms_customer ON search_terms(customer_id, vehicle_id);
CREATE INDEX search_terms_vehicle ON search_terms(vehicle_id) WHERE vehicle_id <> '';

CREATE TABLE service_records (
    id            TEXT PRIMARY KEY,
    vehicle_id    TEXT NOT NULL REFERENCES vehicles(id),
    job_card_id   TEXT,
    date          TEXT NOT NULL,
    odometer      INTEGER,
    summary       TEXT NOT NULL,
    parts_used    TEXT NOT NULL DEFAULT '[]', -- JSON array
    created_at    TEXT NOT NULL
);
CREATE INDEX service_records_vehicle ON service_records(vehicle_id, date);
