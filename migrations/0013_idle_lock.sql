-- How long a counter PC may sit idle before the app locks its screen and
-- asks for a PIN again (issue 9): whole minutes, 1 to 240, 5 by default.
ALTER TABLE branches ADD COLUMN idle_lock_minutes INTEGER NOT NULL DEFAULT 5
    CHECK (idle_lock_minutes BETWEEN 1 AND 240);
