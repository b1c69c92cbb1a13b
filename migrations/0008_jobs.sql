-- The durable job queue (SPEC 5): one job per (event, listener), created in
-- the same transaction as the event, so no listener's work is lost and none
-- is queued for work that was rolled back.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    event_id       TEXT NOT NULL REFERENCES outbox(id),
    event_type     TEXT NOT NULL,
    listener       TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'discarded')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts   INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at         TEXT NOT NULL,          -- when it may run (next)
    lease_until    TEXT,                   -- while running: a worker that dies lets it go then
    last_error     TEXT,
    outcome        TEXT,                   -- what a success did ("emailed a@b.c", "skipped: no email address")
    created_at     TEXT NOT NULL,
    first_started_at TEXT,
    finished_at    TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (event_id, listener)
);
CREATE INDEX jobs_due ON jobs(run_at) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_state ON jobs(state, updated_at);
