-- cloud_seq moves out of the events' own rows into `event_order`, one narrow row per event.
-- A batch inserts its events (wide rows, JSONB, three unique checks) before it takes the
-- counter row; only the narrow rows that number them are written while that lock is held, so
-- concurrent batches insert their events side by side and queue only for the numbering.
-- The order of commits, and so the gapless cloud_seq, is kept exactly as before.

ALTER TABLE events RENAME TO event_bodies;

-- cloud_seq → event. Written under the counter row's lock, in the transaction that inserted the
-- event into event_bodies, so it carries as little as it can: one index, the one readers page
-- by (a tenant's events after N); cloud_seq is unique by construction (the one counter row), and
-- no foreign key (a per-row check would run while the counter row is locked).
CREATE TABLE event_order (
    tenant_id TEXT NOT NULL,
    cloud_seq BIGINT NOT NULL,
    event_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, cloud_seq)
);
INSERT INTO event_order (tenant_id, cloud_seq, event_id) SELECT tenant_id, cloud_seq, id FROM event_bodies;

DROP INDEX events_tenant_cloud_seq;
-- Drops the primary key on cloud_seq with it; the event id stays unique (events_id_key).
ALTER TABLE event_bodies DROP COLUMN cloud_seq;

-- Every stored event with its cloud_seq, shaped as the table was before (for operators' SQL).
CREATE VIEW events AS
SELECT o.cloud_seq, b.id, b.device_id, b.device_seq, b.type, b.schema_version, b.aggregate_type,
       b.aggregate_id, b.occurred_at, b.tenant_id, b.branch_id, b.actor_id, b.payload, b.received_at
FROM event_order o JOIN event_bodies b ON b.id = o.event_id;
