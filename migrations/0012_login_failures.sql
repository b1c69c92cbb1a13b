-- Wrong PINs given for codes that belong to no active staff member, counted
-- and locked exactly like a staff member's own (staff.failed_pin_count,
-- staff.locked_until), so an unknown code answers as a known one does
-- (auth.rs). At most auth::MAX_UNKNOWN_CODES rows: the codes tried longest
-- ago are forgotten first.
CREATE TABLE login_failures (
    code              TEXT PRIMARY KEY,
    failed_pin_count  INTEGER NOT NULL DEFAULT 0,
    locked_until      TEXT,
    updated_at        TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX login_failures_updated ON login_failures(updated_at);
