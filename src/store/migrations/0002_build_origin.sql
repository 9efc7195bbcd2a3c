-- Where a build came from. Only builds asked for through the API count toward the hourly build
-- limit; the live project records one on every save, and fixtures load theirs at start-up.
ALTER TABLE builds ADD COLUMN origin TEXT NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'live', 'fixture'));
