-- One device, one identity (issue 10, docs/SYNC.md section 6). A database
-- file copied to another computer, or an older backup restored, must not
-- send event numbers the cloud already holds nor issue numbers already
-- issued: the device records the computer it belongs to, and while its
-- identity is in doubt it takes no invoice or job card number and syncs
-- nothing until the owner confirms the move or gives it a new identity.

-- SHA-256 (hex) of the computer's id (/etc/machine-id …); NULL until the
-- first open after this migration records it.
ALTER TABLE device ADD COLUMN host_fingerprint TEXT;
-- ok; moved: opened on another computer; restored: brought back by
-- backup.restore; conflict: the cloud said sequence_reused.
ALTER TABLE device ADD COLUMN identity_state TEXT NOT NULL DEFAULT 'ok'
    CHECK (identity_state IN ('ok', 'moved', 'restored', 'conflict'));
ALTER TABLE device ADD COLUMN identity_note TEXT NOT NULL DEFAULT '';
ALTER TABLE device ADD COLUMN identity_changed_at TEXT;

-- Every identity this database has had before its current one: the new
-- identity's first event (DeviceIdentityChanged) links the two at the cloud.
CREATE TABLE device_identities (
    seq                INTEGER PRIMARY KEY,
    old_device_id      TEXT NOT NULL,
    new_device_id      TEXT NOT NULL UNIQUE,
    old_series_letter  TEXT NOT NULL,
    new_series_letter  TEXT NOT NULL,
    reason             TEXT NOT NULL CHECK (reason IN ('moved', 'restored', 'conflict', 'owner')),
    at                 TEXT NOT NULL
);
