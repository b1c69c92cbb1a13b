-- Payments against invoices. The idempotency key makes a repeated request
-- return the first result instead of taking the money twice.
CREATE TABLE payments (
    id                 TEXT PRIMARY KEY,
    invoice_id         TEXT NOT NULL REFERENCES invoices(id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    refunded_amount    INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    method             TEXT NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'other')),
    reference          TEXT NOT NULL DEFAULT '',   -- bank reference, gateway charge id
    status             TEXT NOT NULL CHECK (status IN ('captured', 'partially_refunded', 'refunded')),
    idempotency_key    TEXT NOT NULL UNIQUE,
    actor_id           TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX payments_invoice ON payments(invoice_id, created_at);

CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    payment_id         TEXT NOT NULL REFERENCES payments(id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    reason             TEXT NOT NULL DEFAULT '',
    idempotency_key    TEXT NOT NULL UNIQUE,
    actor_id           TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds(payment_id);
