-- What a branch's invoices carry besides the branch's address (SPEC 10):
-- the odometer's unit (NULL: from the country, mi for US and GB, else km),
-- how to pay (bank details), and the logo, kept in the database.
ALTER TABLE branches ADD COLUMN odometer_unit TEXT CHECK (odometer_unit IN ('km', 'mi'));
ALTER TABLE branches ADD COLUMN payment_instructions TEXT NOT NULL DEFAULT '';

CREATE TABLE branch_logos (
    branch_id   TEXT PRIMARY KEY REFERENCES branches(id),
    media_type  TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg')),
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    bytes       BLOB NOT NULL,
    updated_at  TEXT NOT NULL
);
