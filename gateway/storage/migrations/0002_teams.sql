-- Team limits are read by every replica's cache; updated_at drives the incremental refresh.
ALTER TABLE teams ALTER COLUMN updated_at SET DEFAULT clock_timestamp();
CREATE INDEX IF NOT EXISTS teams_updated_at ON teams (updated_at);
