-- Card payments through the gateway (SPEC 4.6): the saga's durable record.
-- An attempt is committed before the card is charged, so a crash at any
-- later point leaves a row that start-up resolution can finish: the charge
-- is then either recorded as a payment or refunded, never both, never twice.
CREATE TABLE payment_attempts (
    id                 TEXT PRIMARY KEY,           -- also the charge's idempotency key at the gateway
    idempotency_key    TEXT NOT NULL UNIQUE,       -- the caller's key: one attempt per key
    invoice_id         TEXT NOT NULL REFERENCES invoices(id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN
                         ('pending',       -- committed; the charge may be in flight
                          'recorded',      -- charged and recorded as payment_id
                          'declined',      -- the gateway declined the card: no money taken
                          'failed',        -- no charge exists: no money taken
                          'compensating',  -- charged, could not be recorded; refund not yet confirmed
                          'compensated')), -- charged, could not be recorded, refunded
    charge_id          TEXT,                       -- the gateway's charge id once known
    payment_id         TEXT REFERENCES payments(id),
    refund_key         TEXT NOT NULL UNIQUE,       -- the compensation's own idempotency key, fixed up front
    refund_id          TEXT,                       -- the gateway's refund id once compensated
    outcome_code       TEXT,                       -- why it ended as it did (card_declined, invoice_void, ...)
    rechecked_at       TEXT,                       -- a "not charged" answer confirmed later, at start-up
    outcome_message    TEXT,
    actor_id           TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((status = 'recorded') = (payment_id IS NOT NULL)),
    CHECK (status <> 'compensated' OR refund_id IS NOT NULL)
);
-- Start-up resolution reads the unfinished ones; the rest are history.
CREATE INDEX payment_attempts_unfinished ON payment_attempts(created_at) WHERE status IN ('pending', 'compensating');
CREATE INDEX payment_attempts_invoice ON payment_attempts(invoice_id);

-- One gateway charge is recorded as at most one payment.
CREATE UNIQUE INDEX payments_card_charge ON payments(reference) WHERE method = 'card';

-- In-app alerts for managers (compensated card charges, refunds the gateway
-- has not confirmed yet). Listed until someone acknowledges them.
CREATE TABLE alerts (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    audience           TEXT NOT NULL CHECK (audience IN ('manager')),
    title              TEXT NOT NULL,
    body               TEXT NOT NULL,
    subject_type       TEXT,
    subject_id         TEXT,
    created_at         TEXT NOT NULL,
    acknowledged_at    TEXT,
    acknowledged_by    TEXT REFERENCES staff(id)
);
CREATE INDEX alerts_open ON alerts(created_at) WHERE acknowledged_at IS NULL;

-- Where the device reaches outside services (the payment gateway's address;
-- later SMTP and SMS). Addresses only: keys and passwords live in the OS
-- keyring, never here.
CREATE TABLE integration_settings (
    name               TEXT PRIMARY KEY,
    value              TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) WITHOUT ROWID;

-- A card payment's refund goes through the gateway first; its refund id.
ALTER TABLE refunds ADD COLUMN gateway_refund_id TEXT;
