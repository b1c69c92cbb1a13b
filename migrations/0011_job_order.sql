-- Customer messages in event order (docs/EVENTS.md): each job remembers the
-- event's place in the outbox, and for a message to a customer, who and by
-- which channel. A message is not sent while an earlier one to the same
-- customer by the same channel is still waiting.
ALTER TABLE jobs ADD COLUMN event_seq INTEGER;
ALTER TABLE jobs ADD COLUMN customer_id TEXT;
ALTER TABLE jobs ADD COLUMN channel TEXT CHECK (channel IN ('email', 'sms'));

UPDATE jobs SET event_seq = (SELECT o.seq FROM outbox o WHERE o.id = jobs.event_id);
UPDATE jobs SET channel = CASE
        WHEN listener IN ('appointment_confirmation_email', 'vehicle_ready_email', 'invoice_email') THEN 'email'
        WHEN listener IN ('appointment_confirmation_sms', 'vehicle_ready_sms') THEN 'sms'
    END;
UPDATE jobs SET customer_id = (
        SELECT coalesce(json_extract(o.payload, '$.customer_id'),
                        (SELECT i.customer_id FROM invoices i WHERE i.id = json_extract(o.payload, '$.invoice_id')))
        FROM outbox o WHERE o.id = jobs.event_id)
    WHERE channel IS NOT NULL;

CREATE INDEX jobs_order ON jobs(customer_id, channel, event_seq) WHERE state IN ('queued', 'running');
