-- Builds the live project records on every save do not count toward the hourly build limit,
-- which is about what clients ask for through the API.
ALTER TABLE builds ADD COLUMN origin TEXT NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'live'));
