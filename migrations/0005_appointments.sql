-- Appointments and the bay reservations behind them.
CREATE TABLE appointments (
    id                      TEXT PRIMARY KEY,
    branch_id               TEXT NOT NULL REFERENCES branches(id),
    customer_id             TEXT NOT NULL REFERENCES customers(id),
    vehicle_id              TEXT NOT NULL REFERENCES vehicles(id),
    service_type_id         TEXT NOT NULL REFERENCES service_types(id),
    bay_id                  TEXT NOT NULL REFERENCES bays(id),
    scheduled_date          TEXT NOT NULL,   -- YYYY-MM-DD, branch local
    scheduled_time          TEXT NOT NULL,   -- HH:MM, branch local
    duration_minutes        INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 1440),
    starts_at               TEXT NOT NULL,   -- UTC
    ends_at                 TEXT NOT NULL,   -- UTC
    status                  TEXT NOT NULL CHECK (status IN ('scheduled', 'confirmed', 'checked_in', 'cancelled', 'no_show')),
    notes                   TEXT NOT NULL DEFAULT '',
    vehicle_owner_mismatch  INTEGER NOT NULL DEFAULT 0 CHECK (vehicle_owner_mismatch IN (0, 1)),
    job_card_id             TEXT REFERENCES job_cards(id),
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);
CREATE INDEX appointments_date ON appointments(scheduled_date, scheduled_time);
CREATE INDEX appointments_customer ON appointments(customer_id);

-- Two active reservations on one bay never overlap: the booking checks in
-- its IMMEDIATE transaction, and this trigger refuses any write that would.
CREATE TABLE bay_reservations (
    id              TEXT PRIMARY KEY,
    bay_id          TEXT NOT NULL REFERENCES bays(id),
    appointment_id  TEXT NOT NULL REFERENCES appointments(id),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    CHECK (starts_at < ends_at)
);
CREATE INDEX bay_reservations_bay ON bay_reservations(bay_id, starts_at) WHERE active = 1;
CREATE TRIGGER bay_reservations_no_overlap BEFORE INSERT ON bay_reservations
WHEN NEW.active = 1 AND EXISTS (
    SELECT 1 FROM bay_reservations r
    WHERE r.bay_id = NEW.bay_id AND r.active = 1 AND r.starts_at < NEW.ends_at AND r.ends_at > NEW.starts_at
      -- visits last at most a day: this bound keeps the index range short
      AND r.starts_at >= strftime('%Y-%m-%dT%H:%M:%fZ', NEW.starts_at, '-1 day'))
BEGIN SELECT RAISE(ABORT, 'bay reservation overlaps another'); END;
CREATE TRIGGER bay_reservations_no_overlap_update BEFORE UPDATE OF active, starts_at, ends_at, bay_id ON bay_reservations
WHEN NEW.active = 1 AND EXISTS (
    SELECT 1 FROM bay_reservations r
    WHERE r.id <> NEW.id AND r.bay_id = NEW.bay_id AND r.active = 1 AND r.starts_at < NEW.ends_at AND r.ends_at > NEW.starts_at
      AND r.starts_at >= strftime('%Y-%m-%dT%H:%M:%fZ', NEW.starts_at, '-1 day'))
BEGIN SELECT RAISE(ABORT, 'bay reservation overlaps another'); END;
