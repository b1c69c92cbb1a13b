-- A manager's refund of a card payment is a saga too (SPEC 4.6): the
-- attempt is committed with its key before the gateway is asked, so a crash
-- after the gateway refunded leaves a row that the settlement pass finishes
-- by looking the key up: the refund is then recorded once, or closed as not
-- made. Never lost, never sent twice.
CREATE TABLE refund_attempts (
    id                 TEXT PRIMARY KEY,
    idempotency_key    TEXT NOT NULL UNIQUE,       -- the caller's key; also the refund's Idempotency-Key at the gateway
    payment_id         TEXT NOT NULL REFERENCES payments(id),
    invoice_id         TEXT NOT NULL REFERENCES invoices(id),
    charge_id          TEXT NOT NULL,              -- the gateway's charge (the payment's reference)
    amount             INTEGER NOT NULL CHECK (amount > 0),
    reason             TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN
                         ('pending',    -- committed; the refund may be in flight
                          'recorded',   -- refunded at the gateway and recorded as refund_id
                          'failed')),   -- no refund was made (refused, or none under the key)
    refund_id          TEXT REFERENCES refunds(id),
    gateway_refund_id  TEXT,
    outcome_code       TEXT,
    outcome_message    TEXT,
    actor_id           TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((status = 'recorded') = (refund_id IS NOT NULL))
);
CREATE INDEX refund_attempts_unfinished ON refund_attempts(created_at) WHERE status = 'pending';
CREATE INDEX refund_attempts_invoice ON refund_attempts(invoice_id);

-- Alerts close by themselves when their cause is gone (a refund that was
-- waiting went through); acknowledging stays the person's own act.
ALTER TABLE alerts ADD COLUMN resolved_at TEXT;
ALTER TABLE alerts ADD COLUMN resolved_reason TEXT;
DROP INDEX alerts_open;
CREATE INDEX alerts_open ON alerts(created_at) WHERE acknowledged_at IS NULL AND resolved_at IS NULL;
